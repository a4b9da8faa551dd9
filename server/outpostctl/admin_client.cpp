#include "server/outpostctl/admin_client.hpp"

#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "core/admin/http.hpp"

namespace outpost::ctl {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using token = asio::as_tuple_t<asio::use_awaitable_t<>>;

constexpr std::chrono::seconds deadline{10};

bool means_down(const boost::system::error_code& ec) {
    return ec == asio::error::connection_refused || ec == asio::error::not_found ||
           ec == boost::system::errc::no_such_file_or_directory ||
           ec == asio::error::host_unreachable || ec == asio::error::network_unreachable;
}

template <class Protocol>
asio::awaitable<api_result> exchange(
    typename Protocol::endpoint where, http::request<http::string_body> req, std::string where_text
) {
    api_result out;
    beast::basic_stream<Protocol> stream(co_await asio::this_coro::executor);
    stream.expires_after(deadline);
    auto [cec] = co_await stream.async_connect(where, token{});
    if (cec) {
        out.outcome = means_down(cec) ? reach::down : reach::failed;
        out.reason = fmt::format("{}: {}", where_text, cec.message());
        co_return out;
    }
    req.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, req, token{});
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    boost::system::error_code rec = wec;
    if (!rec) {
        auto [e, n] = co_await http::async_read(stream, buffer, parser, token{});
        rec = e;
    }
    if (rec) {
        out.outcome = reach::failed;
        out.reason = fmt::format("{}: {}", where_text, rec.message());
        co_return out;
    }
    auto res = parser.release();
    out.outcome = reach::answered;
    out.reply.status = res.result_int();
    out.reply.text = std::move(res.body());
    boost::system::error_code jec;
    auto v = boost::json::parse(out.reply.text, jec);
    if (!jec)
        out.reply.body = std::move(v);
    boost::system::error_code ignored;
    stream.socket().shutdown(Protocol::socket::shutdown_both, ignored);
    co_return out;
}

}  // namespace

api_result call_admin(const config::config& cfg, std::string_view method, std::string_view target) {
    api_result out;
    auto address = admin::parse_endpoint_address(cfg.admin.address);
    if (!address) {
        out.reason = fmt::format("admin.address \"{}\" is not usable", cfg.admin.address);
        return out;
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, address->unix_path.empty() ? cfg.admin.address : "localhost");
    req.set(http::field::user_agent, "outpostctl");
    req.set(http::field::accept, "application/json");
    if (!cfg.admin.token.empty())
        req.set(http::field::authorization, "Bearer " + cfg.admin.token);
    req.keep_alive(false);

    asio::io_context io;
    auto finish = [&out](std::exception_ptr e, api_result r) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                out.outcome = reach::failed;
                out.reason = ex.what();
            }
            return;
        }
        out = std::move(r);
    };
    if (!address->unix_path.empty()) {
        asio::co_spawn(
            io,
            exchange<asio::local::stream_protocol>(
                asio::local::stream_protocol::endpoint(address->unix_path), std::move(req),
                address->unix_path
            ),
            finish
        );
    } else {
        boost::system::error_code ec;
        auto ip = asio::ip::make_address(address->host, ec);
        if (ec) {
            out.reason = fmt::format("admin.address \"{}\": {}", cfg.admin.address, ec.message());
            return out;
        }
        asio::co_spawn(
            io,
            exchange<asio::ip::tcp>(
                asio::ip::tcp::endpoint(ip, address->port), std::move(req), cfg.admin.address
            ),
            finish
        );
    }
    io.run();
    return out;
}

}  // namespace outpost::ctl
