// The server TLS context for listeners: certificate chain and key from [tls], TLS 1.2 or newer.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "config/schema.hpp"

namespace outpost::listener {

// Throws std::runtime_error naming the file when the certificate or key cannot be used.
std::unique_ptr<boost::asio::ssl::context> make_server_tls(const config::tls_section& tls);

// "TLSv1.3 TLS_AES_256_GCM_SHA384" for logs, Received: and the envelope.
std::string describe_tls(const SSL* ssl);

}  // namespace outpost::listener
