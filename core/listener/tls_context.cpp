#include "core/listener/tls_context.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace outpost::listener {

namespace {

std::string openssl_error() {
    auto code = ERR_get_error();
    if (code == 0)
        return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

}  // namespace

std::unique_ptr<boost::asio::ssl::context> make_server_tls(const config::tls_section& tls) {
    namespace ssl = boost::asio::ssl;
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(
        ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
        ssl::context::single_dh_use
    );
    auto* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(
        native, tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION
    );
    // Renegotiation is a DoS lever and has no use for SMTP.
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(native, tls.certificate.c_str()) != 1)
        throw std::runtime_error(
            fmt::format("{}: cannot use the certificate: {}", tls.certificate, openssl_error())
        );
    if (SSL_CTX_use_PrivateKey_file(native, tls.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
        throw std::runtime_error(
            fmt::format("{}: cannot use the private key: {}", tls.private_key, openssl_error())
        );
    if (SSL_CTX_check_private_key(native) != 1)
        throw std::runtime_error(fmt::format(
            "{}: the private key does not match the certificate {}", tls.private_key,
            tls.certificate
        ));
    return ctx;
}

std::string describe_tls(const SSL* ssl) {
    if (!ssl)
        return {};
    const char* cipher = SSL_get_cipher_name(ssl);
    return fmt::format("{} {}", SSL_get_version(ssl), cipher ? cipher : "unknown");
}

}  // namespace outpost::listener
