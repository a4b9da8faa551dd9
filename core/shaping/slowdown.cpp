// Parsing and matching of the "slow down" rules.
#include "core/shaping/slowdown.hpp"

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::shaping {

namespace {

bool valid_enhanced(std::string_view e) {
    if (e == "*")
        return true;
    if (e.size() < 5 || e[0] != '4' || e[1] != '.')
        return false;
    int dots = 0;
    for (std::size_t i = 1; i < e.size(); ++i) {
        char c = e[i];
        if (c == '.')
            ++dots;
        else if (!(c >= '0' && c <= '9') && !(c == '*' && i + 1 == e.size() && e[i - 1] == '.'))
            return false;
    }
    return dots == 2;
}

// Lower case, runs of white space as one space: replies wrap lines anywhere.
std::string collapse(std::string_view text) {
    std::string out;
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = !out.empty();
            continue;
        }
        if (space)
            out += ' ';
        space = false;
        out += util::ascii_lower(c);
    }
    return out;
}

bool enhanced_matches(std::string_view pattern, std::string_view status) {
    if (pattern == "*")
        return true;
    if (pattern.ends_with(".*"))
        return status.starts_with(pattern.substr(0, pattern.size() - 1));
    return pattern == status;
}

}  // namespace

std::optional<std::vector<slowdown_rule>> parse_slowdown_rules(
    std::string_view text, std::string* error
) {
    std::vector<slowdown_rule> rules;
    unsigned number = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto end = text.find('\n', pos);
        auto line = text.substr(pos, end == std::string_view::npos ? text.size() - pos : end - pos);
        pos = end == std::string_view::npos ? text.size() + 1 : end + 1;
        ++number;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.empty() || line.front() == '#')
            continue;
        auto cols = util::split_tabs(line);
        auto bad = [&](std::string what) {
            if (error)
                *error = fmt::format("{}: {}", number, what);
            return std::nullopt;
        };
        if (cols.size() != 4)
            return bad(fmt::format("want 4 tab-separated columns, found {}", cols.size()));
        if (cols[0] != "421" && cols[0] != "4xx")
            return bad(fmt::format("code \"{}\" is not 421 or 4xx", cols[0]));
        if (!valid_enhanced(cols[1]))
            return bad(fmt::format("enhanced code \"{}\" is not 4.X.Y, 4.X.* or *", cols[1]));
        if (cols[2].empty())
            return bad("empty text (write * for any)");
        if (cols[3].empty())
            return bad("empty reason");
        rules.push_back(slowdown_rule{
            std::string(cols[0]), std::string(cols[1]),
            cols[2] == "*" ? std::string("*") : collapse(cols[2]), std::string(cols[3]), number});
    }
    return rules;
}

const std::vector<slowdown_rule>& slowdown_rules() {
    static const std::vector<slowdown_rule> rules =
        parse_slowdown_rules(detail::embedded_slowdown_rules(), nullptr)
            .value_or(std::vector<slowdown_rule>{});
    return rules;
}

const slowdown_rule* match_slowdown(
    const std::vector<slowdown_rule>& rules, const smtp::reply& reply
) {
    if (!reply.transient())
        return nullptr;
    std::string text;  // collapsed only when a rule needs it
    bool collapsed = false;
    for (const auto& r : rules) {
        if (r.code == "421" && reply.code != 421)
            continue;
        if (!enhanced_matches(r.enhanced, reply.enhanced))
            continue;
        if (r.text != "*") {
            if (!collapsed) {
                text = collapse(reply.text);
                collapsed = true;
            }
            if (text.find(r.text) == std::string::npos)
                continue;
        }
        return &r;
    }
    return nullptr;
}

const slowdown_rule* match_slowdown(const smtp::reply& reply) {
    return match_slowdown(slowdown_rules(), reply);
}

reply_class classify(const smtp::reply& reply) {
    return match_slowdown(reply) ? reply_class::slow_down : reply_class::normal;
}

}  // namespace outpost::shaping
