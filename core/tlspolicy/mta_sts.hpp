// MTA-STS (RFC 8461): the TXT record that announces a policy, the policy file itself, and what it
// allows. Pure: fetching, caching and enforcing live elsewhere (fetch.hpp, cache.hpp, and the
// delivery batch).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace outpost::tlspolicy {

enum class sts_mode { enforce, testing, none };

const char* to_string(sts_mode m);

struct sts_policy {
    sts_mode mode = sts_mode::none;
    std::vector<std::string> mx;  // patterns, lower case: "mx1.example.com", "*.example.net"
    std::int64_t max_age = 0;     // seconds, at most one year (RFC 8461 §3.2)
};

struct parse_error {
    std::string message;
};

// The TXT records of _mta-sts.DOMAIN: the id of the one that starts with "v=STSv1". No id (no
// such record, or more than one: §3.1 says to treat that as no policy) → nullopt; a record that
// starts right but is malformed → parse_error.
std::variant<std::nullopt_t, std::string, parse_error> sts_record_id(
    const std::vector<std::string>& txt_records
);

// The policy file (§3.2): "key: value" lines separated by CRLF or LF; version STSv1, mode,
// max_age, and mx (one or more, unless mode is none) are required; unknown keys are ignored.
std::variant<sts_policy, parse_error> parse_sts_policy(std::string_view text);

// Whether host (an MX name, any case, with or without a trailing dot) matches pattern: exactly,
// or "*.example.com" for a name one label below example.com (§4.1).
bool mx_matches(std::string_view pattern, std::string_view host);
bool mx_allowed(const sts_policy& p, std::string_view host);

}  // namespace outpost::tlspolicy
