// The request side of the admin API as pure functions: splitting a request target into a path and
// decoded query parameters, and checking an Authorization header against the configured token.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace outpost::admin {

struct request_target {
    std::string path;                          // percent-decoded, without the query
    std::map<std::string, std::string> query;  // decoded; a repeated key keeps its last value
};

// Where the admin endpoint listens: an absolute path (unix socket) or IP:PORT ("[v6]:PORT").
struct endpoint_address {
    std::string unix_path;  // set for a unix socket
    std::string host;       // IP text without brackets
    std::uint16_t port = 0;
};

// nullopt for anything else (the config loader has already refused such values).
std::optional<endpoint_address> parse_endpoint_address(std::string_view text);

// "/api/v1/queue?domain=example.net" -> {"/api/v1/queue", {{"domain", "example.net"}}}. '+' in
// the query means a space (HTML forms). nullopt for a target that is not origin-form or holds a
// malformed percent escape.
std::optional<request_target> parse_target(std::string_view target);

// Percent-encodes a query value or path segment (unreserved characters pass through).
std::string url_encode(std::string_view v);

// True when no token is configured, or when header is "Bearer TOKEN" with the configured token
// (compared in constant time, so response timing does not reveal a prefix).
bool authorized(std::string_view authorization_header, std::string_view token);

}  // namespace outpost::admin
