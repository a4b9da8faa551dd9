// Provider matching by host name patterns.
#include "core/shaping/provider.hpp"

#include "core/util/text.hpp"

namespace outpost::shaping {

namespace {

std::string_view strip_dot(std::string_view s) {
    if (!s.empty() && s.back() == '.')
        s.remove_suffix(1);
    return s;
}

bool ends_with_ci(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && util::iequals(s.substr(s.size() - suffix.size()), suffix);
}

}  // namespace

bool host_matches(std::string_view pattern, std::string_view host) {
    pattern = strip_dot(pattern);
    host = strip_dot(host);
    if (pattern.starts_with("*.")) {
        auto suffix = pattern.substr(1);  // ".google.com"
        return host.size() > suffix.size() && ends_with_ci(host, suffix);
    }
    return util::iequals(pattern, host);
}

bool valid_host_pattern(std::string_view pattern) {
    if (pattern.starts_with("*."))
        pattern.remove_prefix(2);
    pattern = strip_dot(pattern);
    if (pattern.empty() || pattern.size() > 253 || pattern.front() == '.' || pattern.front() == '-')
        return false;
    char prev = 0;
    for (char c : pattern) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
        if (!ok || (c == '.' && prev == '.'))
            return false;
        prev = c;
    }
    return true;
}

provider_map provider_map::from(const config::config& c) {
    std::vector<provider_rule> rules;
    for (const auto& p : c.providers)
        rules.push_back(provider_rule{p.name, p.mx, p.domains});
    return provider_map(std::move(rules));
}

std::string_view provider_map::match_domain(std::string_view domain) const {
    for (const auto& r : rules_)
        for (const auto& d : r.domains)
            if (host_matches(d, domain))
                return r.name;
    return default_provider;
}

std::string_view provider_map::match_host(std::string_view mx_host) const {
    for (const auto& r : rules_)
        for (const auto& p : r.mx)
            if (host_matches(p, mx_host))
                return r.name;
    return default_provider;
}

std::string_view provider_map::match(std::string_view domain, std::span<const std::string> mx_hosts)
    const {
    if (auto by_domain = match_domain(domain); by_domain != default_provider)
        return by_domain;
    for (const auto& host : mx_hosts)
        if (auto p = match_host(host); p != default_provider)
            return p;
    return default_provider;
}

}  // namespace outpost::shaping
