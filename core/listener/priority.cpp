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

std::vector<std::string> take_header_fields(std::string& message, std::string_view name) {
    auto parsed = message::parse_header(message);
    std::vector<std::string> values;
    std::vector<std::pair<std::size_t, std::size_t>> spans;  // offset, length
    for (const auto& f : parsed.fields) {
        if (!message::name_is(f, name))
            continue;
        std::string unfolded;
        for (char c : f.value)
            if (c != '\r' && c != '\n')
                unfolded += c;
        values.emplace_back(util::trim(unfolded));
        spans.emplace_back(static_cast<std::size_t>(f.raw.data() - message.data()), f.raw.size());
    }
    // Back to front, so the offsets of the earlier fields stay valid.
    for (auto it = spans.rbegin(); it != spans.rend(); ++it)
        message.erase(it->first, it->second);
    return values;
}

std::optional<std::string> take_header_field(std::string& message, std::string_view name) {
    auto values = take_header_fields(message, name);
    if (values.empty())
        return std::nullopt;
    return values.front();
}

}  // namespace outpost::listener
