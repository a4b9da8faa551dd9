#include "core/events/https_post.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/tlspolicy/fetch.hpp"
#include "core/util/text.hpp"

namespace outpost::events {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tlspolicy::describe_https_error;

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);

template <class Stream>
asio::awaitable<post_result> exchange(Stream& stream, const http::request<http::string_body>& req) {
    if (auto [ec, n] = co_await http::async_write(stream, req, token); ec)
        co_return post_result{0, fmt::format("request: {}", describe_https_error(ec, nullptr))};
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);  // what a receiver says back is read only for the log
    parser.header_limit(16 * 1024);
    if (auto [ec, n] = co_await http::async_read(stream, buffer, parser, token); ec) {
        // A 2xx whose body was too long, or cut by a close without close_notify, still says
        // the receiver has the batch: sending it again forever helps nobody.
        if (parser.is_header_done() && parser.get().result_int() / 100 == 2)
            co_return post_result{parser.get().result_int(), {}};
        co_return post_result{0, fmt::format("response: {}", describe_https_error(ec, nullptr))};
    }
    auto status = parser.get().result_int();
    post_result r{status, {}};
    if (!r.ok())
        r.error = fmt::format(
            "HTTP {}: {}", status, util::printable_ascii(parser.get().body().substr(0, 200))
        );
    co_return r;
}

asio::awaitable<post_result> post_to(
    asio::ssl::context& ctx,
    const config::http_address& to,
    asio::ip::tcp::endpoint at,
    const http::request<http::string_body>& req,
    std::chrono::milliseconds timeout
) {
    beast::tcp_stream tcp(co_await asio::this_coro::executor);
    tcp.expires_after(timeout);
    if (auto [ec] = co_await tcp.async_connect(at, token); ec)
        co_return post_result{
            0, fmt::format(
                   "connect {}: {}", at.address().to_string(), describe_https_error(ec, nullptr)
               )};
    if (!to.tls)
        co_return co_await exchange(tcp, req);
    asio::ssl::stream<beast::tcp_stream> tls(std::move(tcp), ctx);
    auto* ssl = tls.native_handle();
    boost::system::error_code literal;
    bool is_ip = (asio::ip::make_address(to.host, literal), !literal);
    if (!is_ip)  // SNI takes names only
        SSL_ctrl(
            ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
            const_cast<char*>(to.host.c_str())
        );
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), to.host.c_str())
               : SSL_set1_host(ssl, to.host.c_str())) != 1)
        co_return post_result{0, "cannot check the certificate's name"};
    if (auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::client, token); ec)
        co_return post_result{
            0, fmt::format("TLS with {}: {}", to.host, describe_https_error(ec, ssl))};
    auto r = co_await exchange(tls, req);
    // The answer is in: a receiver that closes without close_notify changes nothing.
    boost::system::error_code ignored;
    co_await tls.async_shutdown(asio::redirect_error(asio::use_awaitable, ignored));
    co_return r;
}

}  // namespace

asio::awaitable<post_result> post_json(
    dns::resolver& resolver,
    asio::ssl::context& tls,
    const config::http_address& to,
    std::string body,
    const header_list& headers,
    std::chrono::milliseconds timeout
) {
    std::vector<asio::ip::address> addresses;
    boost::system::error_code literal;
    auto ip = asio::ip::make_address(to.host, literal);
    if (!literal)
        addresses.push_back(ip);
    else if (util::iequals(to.host, "localhost"))
        addresses.push_back(asio::ip::make_address("127.0.0.1"));
    else {
        auto found = co_await resolver.address(to.host);
        addresses = found.records;
    }
    if (addresses.empty())
        co_return post_result{0, fmt::format("{} has no address", to.host)};

    http::request<http::string_body> req{http::verb::post, to.target, 11};
    auto port = (to.tls && to.port == 443) || (!to.tls && to.port == 80)
                    ? std::string()
                    : fmt::format(":{}", to.port);
    req.set(
        http::field::host,
        (to.host.find(':') != std::string::npos ? "[" + to.host + "]" : to.host) + port
    );
    req.set(http::field::user_agent, "Outpost");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::connection, "close");
    for (const auto& [name, value] : headers)
        req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();

    // One deadline over at most three addresses.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    post_result last{0, "no address tried"};
    std::size_t tried = 0;
    for (const auto& a : addresses) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now()
        );
        if (tried++ == 3 || left <= std::chrono::milliseconds(0))
            break;
        last = co_await post_to(tls, to, {a, static_cast<unsigned short>(to.port)}, req, left);
        if (last.status != 0)  // an answer, good or bad, is the receiver's word
            break;
    }
    co_return last;
}

}  // namespace outpost::events
