// [[webhook]] url = "...": where events are POSTed, read with Boost.URL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace outpost::config {

struct http_address {
    bool tls = true;
    std::string host;  // a name, or an IP literal (IPv6 without brackets)
    unsigned port = 443;
    std::string target;  // path and query, at least "/"
};

struct http_url_result {
    std::optional<http_address> address;
    std::string error;
};

// "https://HOST[:PORT][/PATH][?QUERY]"; "http://" only when HOST is a loopback address
// (127.0.0.0/8, ::1, localhost): events carry addresses and must not cross a network in the
// clear. No user information, no fragment.
http_url_result parse_http_url(std::string_view url);

// The URL as logs may show it: scheme, host and port, with any path and query (where hook
// services put their tokens) hidden, plus a hash of the whole so that a change still shows.
std::string redact_http_url(std::string_view url);

}  // namespace outpost::config
