#include "core/tlspolicy/fetch.hpp"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/util/text.hpp"

namespace outpost::tlspolicy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);

using result = std::variant<std::string, fetch_error>;

asio::awaitable<result> fetch_from(
    asio::ssl::context& ctx,
    const std::string& host,
    asio::ip::tcp::endpoint at,
    const fetch_limits& limits
) {
    beast::tcp_stream tcp(co_await asio::this_coro::executor);
    tcp.expires_after(limits.timeout);
    if (auto [ec] = co_await tcp.async_connect(at, token); ec)
        co_return fetch_error{fmt::format(
            "connect {}: {}", at.address().to_string(), describe_https_error(ec, nullptr)
        )};
    asio::ssl::stream<beast::tcp_stream> tls(std::move(tcp), ctx);
    auto* ssl = tls.native_handle();
    // SNI, and the name the certificate must be valid for (§3.3: mta-sts.DOMAIN).
    SSL_ctrl(
        ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
        const_cast<char*>(host.c_str())
    );
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, host.c_str()) != 1)
        co_return fetch_error{"cannot check the certificate's name"};
    if (auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::client, token); ec)
        co_return fetch_error{
            fmt::format("TLS with {}: {}", host, describe_https_error(ec, ssl)),
            SSL_get_verify_result(ssl) != X509_V_OK ? "sts-webpki-invalid"
                                                    : "sts-policy-fetch-error"};

    http::request<http::empty_body> req{http::verb::get, "/.well-known/mta-sts.txt", 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "Outpost");
    req.set(http::field::connection, "close");
    if (auto [ec, n] = co_await http::async_write(tls, req, token); ec)
        co_return fetch_error{fmt::format("request: {}", describe_https_error(ec, nullptr))};
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(limits.max_size);
    parser.header_limit(16 * 1024);
    if (auto [ec, n] = co_await http::async_read(tls, buffer, parser, token); ec)
        co_return fetch_error{
            ec == http::error::body_limit
                ? fmt::format("the policy is larger than {} bytes", limits.max_size)
                : fmt::format("response: {}", describe_https_error(ec, nullptr))};
    const auto& res = parser.get();
    auto status = res.result_int();
    // §3.3: "HTTP 3xx redirects MUST NOT be followed"; anything but 200 is no policy.
    if (status != 200)
        co_return fetch_error{fmt::format(
            "HTTP {}{}", status,
            status >= 300 && status < 400 ? " (redirects are not followed)" : ""
        )};
    // §3.3: the media type is text/plain (parameters such as charset allowed; any case).
    auto type = std::string_view(res[http::field::content_type]);
    if (!util::iequals(util::trim(type.substr(0, type.find(';'))), "text/plain"))
        co_return fetch_error{
            fmt::format("Content-Type is not text/plain: \"{}\"", util::printable_ascii(type))};
    co_return res.body();
}

}  // namespace

std::string describe_https_error(const boost::system::error_code& ec, SSL* ssl) {
    if (ec == beast::error::timeout)
        return "timeout";
    if (ssl) {
        auto v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK)
            return fmt::format("certificate: {}", X509_verify_cert_error_string(v));
    }
    return ec.message();
}

std::shared_ptr<asio::ssl::context> verifying_context(const std::string& extra_ca_file) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(
        asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
        asio::ssl::context::no_tlsv1_1
    );
    ctx->set_default_verify_paths();
    if (!extra_ca_file.empty()) {
        boost::system::error_code ec;
        ctx->load_verify_file(extra_ca_file, ec);
        if (ec)
            throw std::runtime_error(
                fmt::format("{}: cannot read CA certificates: {}", extra_ca_file, ec.message())
            );
    }
    ctx->set_verify_mode(asio::ssl::verify_peer);
    return ctx;
}

asio::awaitable<result> fetch_sts_policy(
    dns::resolver& resolver,
    std::shared_ptr<asio::ssl::context> tls,
    std::string domain,
    fetch_limits limits
) {
    auto host = "mta-sts." + domain;
    auto addresses = co_await resolver.address(host);
    if (addresses.records.empty())
        co_return fetch_error{fmt::format("{} has no address", host)};
    fetch_error last;
    // One deadline for the whole fetch, over at most three addresses: a policy host that stalls
    // holds a delivery batch no longer than that.
    auto deadline = std::chrono::steady_clock::now() + limits.timeout;
    std::size_t tried = 0;
    for (const auto& a : addresses.records) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()
        );
        if (tried++ == 3 || left <= std::chrono::milliseconds(0))
            break;
        auto each = limits;
        each.timeout = left;
        auto r = co_await fetch_from(*tls, host, {a, limits.port}, each);
        if (std::holds_alternative<std::string>(r))
            co_return r;
        last = std::get<fetch_error>(r);
    }
    co_return last;
}

}  // namespace outpost::tlspolicy
