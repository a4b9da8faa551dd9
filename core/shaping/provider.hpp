// Destination domain → provider, by the destination's MX host names or by domain name.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"

namespace outpost::shaping {

// The provider every destination that matches no [[provider]] belongs to.
inline constexpr std::string_view default_provider = "default";

// True when host matches pattern, case-insensitively and ignoring a trailing dot: "*.google.com"
// matches "aspmx.l.google.com" (any depth) but not "google.com" itself; a pattern without "*."
// matches that exact name only.
bool host_matches(std::string_view pattern, std::string_view host);

// A pattern as [[provider]] mx accepts it: "*.label.tld" or a host name.
bool valid_host_pattern(std::string_view pattern);

struct provider_rule {
    std::string name;
    std::vector<std::string> mx;       // MX host patterns
    std::vector<std::string> domains;  // recipient domain patterns, matched before MX look-up
};

// The [[provider]] table in config order; the first rule that matches wins.
class provider_map {
public:
    provider_map() = default;

    explicit provider_map(std::vector<provider_rule> rules) : rules_(std::move(rules)) {}

    static provider_map from(const config::config& c);

    // The provider of a recipient domain whose MX hosts are mx_hosts (in preference order): a
    // rule's domains first (no DNS needed: gmail.com), then the first MX host that matches a
    // rule's mx pattern (Workspace domains); default_provider when nothing matches.
    std::string_view match(std::string_view domain, std::span<const std::string> mx_hosts) const;

    // The provider by recipient domain alone; default_provider when only MX could tell.
    std::string_view match_domain(std::string_view domain) const;

    // The provider of one MX host name; default_provider when none matches.
    std::string_view match_host(std::string_view mx_host) const;

    const std::vector<provider_rule>& rules() const { return rules_; }

private:
    std::vector<provider_rule> rules_;
};

}  // namespace outpost::shaping
