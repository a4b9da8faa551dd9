#include "core/tlspolicy/mta_sts.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::tlspolicy {

namespace {

constexpr std::int64_t longest_max_age = 31557600;  // §3.2: about one year
// No real policy lists more MX patterns; a bound keeps what one domain can make us hold small.
constexpr std::size_t max_mx_patterns = 100;

std::string_view without_final_dot(std::string_view s) {
    if (!s.empty() && s.back() == '.')
        s.remove_suffix(1);
    return s;
}

// RFC 8461 §3.2: sts-policy-mx-value = ["*."] Domain (RFC 5321's letters, digits, hyphens).
bool host_pattern(std::string_view p) {
    if (p.starts_with("*."))
        p.remove_prefix(2);
    if (p.empty() || p.size() > 253)
        return false;
    for (auto label : util::split(p, '.')) {
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label)
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                return false;
    }
    return true;
}

bool id_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

const char* to_string(sts_mode m) {
    switch (m) {
        case sts_mode::enforce:
            return "enforce";
        case sts_mode::testing:
            return "testing";
        case sts_mode::none:
            return "none";
    }
    return "none";
}

std::variant<std::nullopt_t, std::string, parse_error> sts_record_id(
    const std::vector<std::string>& txt_records
) {
    const std::string* found = nullptr;
    for (const auto& r : txt_records) {
        // §3.1: records that do not begin with "v=STSv1;" are discarded.
        auto t = util::trim(r);
        if (!t.starts_with("v=STSv1"))
            continue;
        if (found)
            return std::nullopt;  // more than one: no policy
        found = &r;
    }
    if (!found)
        return std::nullopt;
    std::optional<std::string> id;
    for (auto field : util::split(*found, ';')) {
        auto f = util::trim(field);
        if (f.empty())
            continue;
        auto eq = f.find('=');
        if (eq == std::string_view::npos)
            return parse_error{fmt::format("field \"{}\" has no '='", util::printable_ascii(f))};
        auto key = util::trim(f.substr(0, eq));
        auto value = util::trim(f.substr(eq + 1));
        if (key == "v") {
            if (value != "STSv1")
                return parse_error{"v is not STSv1"};
        } else if (key == "id") {
            if (value.empty() || value.size() > 32 ||
                !std::all_of(value.begin(), value.end(), id_char))
                return parse_error{"id is not 1 to 32 letters and digits"};
            id = std::string(value);
        }
    }
    if (!id)
        return parse_error{"no id"};
    return *id;
}

std::variant<sts_policy, parse_error> parse_sts_policy(std::string_view text) {
    sts_policy p;
    bool version = false, mode = false, max_age = false;
    std::size_t line_no = 0;
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_no;
        if (line.ends_with('\r'))
            line.remove_suffix(1);
        if (util::trim(line).empty())
            continue;
        auto colon = line.find(':');
        if (colon == std::string_view::npos)
            return parse_error{fmt::format("line {}: no ':'", line_no)};
        auto key = util::trim(line.substr(0, colon));
        auto value = util::trim(line.substr(colon + 1));
        if (key == "version") {
            if (value != "STSv1")
                return parse_error{fmt::format("line {}: version is not STSv1", line_no)};
            version = true;
        } else if (key == "mode") {
            if (value == "enforce")
                p.mode = sts_mode::enforce;
            else if (value == "testing")
                p.mode = sts_mode::testing;
            else if (value == "none")
                p.mode = sts_mode::none;
            else
                return parse_error{fmt::format(
                    "line {}: mode \"{}\" (enforce, testing, none)", line_no,
                    util::printable_ascii(value)
                )};
            mode = true;
        } else if (key == "max_age") {
            std::int64_t v = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (ec != std::errc{} || end != value.data() + value.size() || value.size() > 10 ||
                v < 0)
                return parse_error{fmt::format("line {}: max_age is not a number", line_no)};
            p.max_age = std::min(v, longest_max_age);
            max_age = true;
        } else if (key == "mx") {
            auto pattern = util::to_lower(without_final_dot(value));
            if (!host_pattern(pattern))
                return parse_error{fmt::format(
                    "line {}: mx \"{}\" is not a host name or *.domain", line_no,
                    util::printable_ascii(value)
                )};
            if (p.mx.size() == max_mx_patterns)
                return parse_error{fmt::format("more than {} mx lines", max_mx_patterns)};
            p.mx.push_back(std::move(pattern));
        }
        // Other keys: ignored, for extensions (§3.2).
    }
    if (!version)
        return parse_error{"no version"};
    if (!mode)
        return parse_error{"no mode"};
    if (!max_age)
        return parse_error{"no max_age"};
    if (p.mx.empty() && p.mode != sts_mode::none)
        return parse_error{"no mx"};
    return p;
}

bool mx_matches(std::string_view pattern, std::string_view host) {
    auto h = util::to_lower(without_final_dot(host));
    auto pat = util::to_lower(without_final_dot(pattern));
    if (!pat.starts_with("*."))
        return h == pat;
    // "*.example.com": exactly one more label on the left.
    auto suffix = std::string_view(pat).substr(1);  // ".example.com"
    if (h.size() <= suffix.size() || !std::string_view(h).ends_with(suffix))
        return false;
    auto label = std::string_view(h).substr(0, h.size() - suffix.size());
    return label.find('.') == std::string_view::npos;
}

bool mx_allowed(const sts_policy& p, std::string_view host) {
    return std::any_of(p.mx.begin(), p.mx.end(), [&](const auto& pattern) {
        return mx_matches(pattern, host);
    });
}

}  // namespace outpost::tlspolicy
