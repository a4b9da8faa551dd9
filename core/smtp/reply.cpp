#include "core/smtp/reply.hpp"

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::smtp {

std::string reply::wire() const {
    std::string out;
    auto lines = util::split(text, '\n');
    for (std::size_t i = 0; i < lines.size(); ++i) {
        char sep = i + 1 == lines.size() ? ' ' : '-';
        if (enhanced.empty())
            out += fmt::format("{}{}{}\r\n", code, sep, lines[i]);
        else
            out += fmt::format("{}{}{} {}\r\n", code, sep, enhanced, lines[i]);
    }
    return out;
}

std::string reply::summary() const {
    std::string joined;
    for (auto line : util::split(text, '\n')) {
        if (!joined.empty())
            joined += " / ";
        joined += line;
    }
    if (enhanced.empty())
        return fmt::format("{} {}", code, joined);
    return fmt::format("{} {} {}", code, enhanced, joined);
}

}  // namespace outpost::smtp
