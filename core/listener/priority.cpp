#include "core/listener/priority.hpp"

#include <vector>

#include "core/message/header.hpp"
#include "core/util/text.hpp"

namespace outpost::listener {

std::optional<std::string> parse_priority(std::string_view value) {
    auto v = util::to_lower(util::trim(value));
    if (v == "high" || v == "normal" || v == "low")
        return v;
    return std::nullopt;
}

std::optional<std::string> take_header_field(std::string& message, std::string_view name) {
    auto parsed = message::parse_header(message);
    std::optional<std::string> first;
    std::vector<std::pair<std::size_t, std::size_t>> spans;  // offset, length
    for (const auto& f : parsed.fields) {
        if (!message::name_is(f, name))
            continue;
        if (!first) {
            std::string unfolded;
            for (char c : f.value)
                if (c != '\r' && c != '\n')
                    unfolded += c;
            first = std::string(util::trim(unfolded));
        }
        spans.emplace_back(static_cast<std::size_t>(f.raw.data() - message.data()), f.raw.size());
    }
    // Back to front, so the offsets of the earlier fields stay valid.
    for (auto it = spans.rbegin(); it != spans.rend(); ++it)
        message.erase(it->first, it->second);
    return first;
}

}  // namespace outpost::listener
