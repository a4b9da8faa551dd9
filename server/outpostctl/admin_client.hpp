// A small synchronous client for outpostd's admin endpoint ([admin] address: loopback TCP or a
// unix socket), used by the status and queue commands.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "config/schema.hpp"

namespace outpost::ctl {

struct api_reply {
    unsigned status = 0;      // HTTP status
    boost::json::value body;  // parsed JSON; null when the body was not JSON
    std::string text;         // the raw body
};

enum class reach { answered, down, failed };

struct api_result {
    reach outcome = reach::failed;
    api_reply reply;     // when answered
    std::string reason;  // when down or failed: what went wrong, for the message to the user
};

// Sends one request (with the configured bearer token) and reads the answer, within a 10 s
// deadline. outcome is down when nothing listens at the address (connection refused, no socket
// file), failed for any other error (permission denied, timeout, garbage).
api_result call_admin(const config::config& cfg, std::string_view method, std::string_view target);

}  // namespace outpost::ctl
