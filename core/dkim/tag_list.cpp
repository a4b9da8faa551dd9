// DKIM tag=value lists (RFC 6376 §3.2).
#include "core/dkim/detail/tag_list.hpp"

namespace outpost::dkim {

namespace {

bool is_fws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim_fws(std::string_view s) {
    while (!s.empty() && is_fws(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_fws(s.back()))
        s.remove_suffix(1);
    return s;
}

bool is_tag_name(std::string_view s) {
    // tag-name = ALPHA *ALNUMPUNC, ALNUMPUNC = ALPHA / DIGIT / "_"
    if (s.empty())
        return false;
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (!alpha(s[0]))
        return false;
    for (char c : s)
        if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_')
            return false;
    return true;
}

}  // namespace

std::optional<std::vector<tag>> parse_tag_list(std::string_view text) {
    std::vector<tag> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto semi = text.find(';', pos);
        auto end = semi == std::string_view::npos ? text.size() : semi;
        auto spec = text.substr(pos, end - pos);
        // tag-list = tag-spec *( ";" tag-spec ) [ ";" ]: only the last may be empty (a trailing
        // semicolon); "a=1;; b=2" is malformed.
        if (trim_fws(spec).empty() && semi != std::string_view::npos)
            return std::nullopt;
        if (!trim_fws(spec).empty()) {
            auto eq = spec.find('=');
            if (eq == std::string_view::npos)
                return std::nullopt;
            auto name = trim_fws(spec.substr(0, eq));
            if (!is_tag_name(name))
                return std::nullopt;
            for (const auto& t : out)
                if (t.name == name)
                    return std::nullopt;
            out.push_back(tag{name, trim_fws(spec.substr(eq + 1)), pos + eq + 1, end});
        }
        if (semi == std::string_view::npos)
            break;
        pos = semi + 1;
    }
    return out;
}

const tag* find_tag(const std::vector<tag>& tags, std::string_view name) {
    for (const auto& t : tags)
        if (t.name == name)
            return &t;
    return nullptr;
}

std::string strip_fws(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value)
        if (!is_fws(c))
            out += c;
    return out;
}

std::vector<std::string> split_colon_list(std::string_view value) {
    std::vector<std::string> out;
    std::string item;
    for (char c : value) {
        if (c == ':') {
            out.push_back(std::move(item));
            item.clear();
        } else if (!is_fws(c)) {
            item += c;
        }
    }
    out.push_back(std::move(item));
    return out;
}

std::string without_b_value(std::string_view text, const std::vector<tag>& tags) {
    const tag* b = find_tag(tags, "b");
    if (!b)
        return std::string(text);
    std::string out;
    out.reserve(text.size());
    out += text.substr(0, b->value_begin);
    out += text.substr(b->value_end);
    return out;
}

}  // namespace outpost::dkim
