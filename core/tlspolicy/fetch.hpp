// Fetching an MTA-STS policy file (RFC 8461 §3.3): HTTPS GET of
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt, the certificate checked against that name and
// the trust store, redirects refused, the size and the time bounded.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <variant>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "core/dns/resolver.hpp"

namespace outpost::tlspolicy {

// A TLS client context that checks certificates: the system's trust store, plus the PEM
// certificates in extra_ca_file when it is not empty. Throws std::runtime_error (naming the
// file) when the file cannot be read.
std::shared_ptr<boost::asio::ssl::context> verifying_context(const std::string& extra_ca_file);

struct fetch_limits {
    std::chrono::milliseconds timeout{
        std::chrono::seconds(30)};     // connect to last byte, each address
    std::size_t max_size = 64 * 1024;  // §3.3 suggests 64 KB
    std::uint16_t port = 443;
};

struct fetch_error {
    std::string message;
};

// The policy file's text, or why it could not be had. Never throws for network failures.
boost::asio::awaitable<std::variant<std::string, fetch_error>> fetch_sts_policy(
    dns::resolver& resolver,
    std::shared_ptr<boost::asio::ssl::context> tls,
    std::string domain,
    fetch_limits limits = {}
);

}  // namespace outpost::tlspolicy
