// One HTTP POST of a JSON body, over TLS (certificate and host name verified) or, for loopback
// receivers only, in the clear: what webhooks need, with one deadline for the whole exchange.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "config/http_url.hpp"
#include "core/dns/resolver.hpp"

namespace outpost::events {

struct post_result {
    unsigned status = 0;  // HTTP status; 0 when no response came
    std::string error;    // why, when not 2xx

    bool ok() const { return status >= 200 && status < 300; }
};

using header_list = std::vector<std::pair<std::string, std::string>>;

boost::asio::awaitable<post_result> post_json(
    dns::resolver& resolver,
    boost::asio::ssl::context& tls,
    const config::http_address& to,
    std::string body,
    const header_list& headers,
    std::chrono::milliseconds timeout
);

}  // namespace outpost::events
