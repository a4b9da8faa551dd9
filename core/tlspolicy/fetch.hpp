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

// Why an HTTPS exchange failed, for logs and reports: "timeout", the certificate check's own
// words when it failed (ssl may be null before the handshake), else the error's message.
std::string describe_https_error(const boost::system::error_code& ec, SSL* ssl);

struct fetch_limits {
    // From the first connect to the last byte, all addresses together (at most three are tried).
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};
    std::size_t max_size = 64 * 1024;  // §3.3 suggests 64 KB
    std::uint16_t port = 443;
};

struct fetch_error {
    std::string message;
    // RFC 8460's result type: sts-webpki-invalid when the server's certificate failed,
    // sts-policy-fetch-error otherwise.
    std::string type = "sts-policy-fetch-error";
};

// The policy file's text, or why it could not be had. Never throws for network failures.
boost::asio::awaitable<std::variant<std::string, fetch_error>> fetch_sts_policy(
    dns::resolver& resolver,
    std::shared_ptr<boost::asio::ssl::context> tls,
    std::string domain,
    fetch_limits limits = {}
);

}  // namespace outpost::tlspolicy
