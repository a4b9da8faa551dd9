// The admin endpoint: HTTP/1.1 with Boost.Beast on [admin] address (loopback TCP or a unix
// socket with mode 0660), serving /metrics and the JSON API under /api/v1/ that outpostctl uses.
// Runs on the daemon's event loop, so it reads the queue runner and the listeners directly.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/object.hpp>

#include "config/schema.hpp"
#include "core/listener/server.hpp"
#include "core/queue/runner.hpp"
#include "core/spool/layout.hpp"
#include "core/spool/writer.hpp"
#include "core/suppression/store.hpp"

namespace outpost::daemon {

struct cluster_parts;
struct event_parts;
class report_intake;

// What the endpoint reports on and acts upon; all of it outlives the admin_server.
struct admin_sources {
    const config::config& cfg;
    queue::runner& runner;
    listener::server& listeners;
    spool::writer& writer;
    spool::layout where;
    boost::asio::thread_pool& workers;
    std::string version;
    // The suppression list, for its removal counts (outpostctl removes entries too); may be null.
    suppression::store* suppressions = nullptr;
    // [cluster]: how this node sees the shared state (nullptr or disabled: no cluster).
    const cluster_parts* cluster = nullptr;
    // [events]: the event log and the webhooks sending it (nullptr: none).
    const event_parts* events = nullptr;
    // [dmarc]: the reports read (nullptr: none).
    const report_intake* dmarc = nullptr;
};

class admin_server {
public:
    admin_server(boost::asio::io_context& io, admin_sources sources);
    ~admin_server();

    // Binds [admin] address and starts accepting. Throws std::system_error naming the address
    // when it cannot be bound (a live socket file at the path counts as in use) and the address
    // was configured; the default address only logs a warning then, because mail must keep
    // flowing on a host where something else holds 127.0.0.1:9025.
    void start();

    // Stops accepting and removes the socket file; requests in progress finish.
    void stop();

private:
    void bind();

    using request = boost::beast::http::request<boost::beast::http::string_body>;
    using response = boost::beast::http::response<boost::beast::http::string_body>;

    template <class Acceptor>
    boost::asio::awaitable<void> accept_loop(Acceptor& acceptor);
    template <class Protocol>
    boost::asio::awaitable<void> serve(typename Protocol::socket socket);
    boost::asio::awaitable<response> respond(const request& req);

    std::string metrics_text() const;
    std::string status_json() const;
    boost::json::object throttles_json() const;
    boost::asio::awaitable<response> queue_list(
        const request& req, const std::string& domain, const std::string& state
    );
    boost::asio::awaitable<response> queue_show(const request& req, const std::string& id);
    response queue_flush(
        const request& req,
        const std::optional<std::string>& id,
        const std::optional<std::string>& domain
    );
    boost::asio::awaitable<response> queue_delete(const request& req, const std::string& id);
    std::int64_t now() const;

    boost::asio::io_context& io_;
    admin_sources sources_;
    std::chrono::steady_clock::time_point started_;
    std::int64_t started_unix_ = 0;
    std::optional<boost::asio::ip::tcp::acceptor> tcp_;
    std::optional<boost::asio::local::stream_protocol::acceptor> unix_;
    std::string unix_path_;
    std::size_t sessions_ = 0;
};

}  // namespace outpost::daemon
