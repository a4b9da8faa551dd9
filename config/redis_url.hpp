// [cluster] redis = "...": where the shared Redis is, parsed from the URL forms redis-cli and
// client libraries accept.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace outpost::config {

struct redis_address {
    std::string host;         // TCP host (an IPv6 literal without brackets); empty for a socket
    unsigned port = 6379;     // TCP port
    std::string socket_path;  // unix socket path; empty for TCP
    unsigned database = 0;    // SELECT index
    std::string username;     // from the URL's user information (Redis 6 ACL); may be empty
    std::string password;     // from the URL's user information; may be empty
};

// "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]" (HOST may be "[v6]"), "unix:/PATH[?db=N]" or
// "unix:///PATH[?db=N]". Percent-escapes are not decoded: a password with special characters
// belongs in password_file. The error names what is wrong.
struct redis_url_result {
    std::optional<redis_address> address;
    std::string error;
};

redis_url_result parse_redis_url(std::string_view url);

// The URL with any password replaced by "***", for logs and reload diffs.
std::string redact_redis_url(std::string_view url);

}  // namespace outpost::config
