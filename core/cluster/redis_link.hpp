// One connection to Redis driven by the Asio event loop through hiredis's asynchronous API: no
// call blocks the loop. It connects at start(), authenticates and selects the database, and
// after a loss reconnects every second until stop(). A call that Redis does not answer within
// the configured timeout takes the connection down (every call in flight then completes with
// nullopt) so that a hung Redis is seen as unreachable, not waited on.
//
// A link is either for commands or, after subscribe(), for pub/sub channels (Redis allows no
// other commands on a subscribed connection): use two links for both.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/cluster/redis_value.hpp"

struct redisAsyncContext;

namespace outpost::cluster {

struct redis_endpoint {
    std::string host;  // TCP; empty when socket_path is set
    unsigned port = 6379;
    std::string socket_path;
    unsigned database = 0;
    std::string username;  // Redis 6 ACL user; empty: AUTH with the password alone
    std::string password;  // never logged
    std::chrono::milliseconds timeout{500};
};

class redis_link : public std::enable_shared_from_this<redis_link> {
public:
    // nullopt: no answer (the link is down, went down, or the call timed out).
    using reply_fn = std::function<void(std::optional<redis_value>)>;
    using message_fn = std::function<void(std::string_view payload)>;
    using event_fn = std::function<void()>;

    // name tells links apart in the log ("commands", "subscriber").
    static std::shared_ptr<redis_link> create(
        boost::asio::any_io_executor executor, redis_endpoint endpoint, std::string name
    );
    ~redis_link();
    redis_link(const redis_link&) = delete;
    redis_link& operator=(const redis_link&) = delete;

    // Adds a function called each time the link comes up (authenticated, database selected,
    // subscribed), or each time it goes down; add them before start().
    void on_up(event_fn f) { on_up_.push_back(std::move(f)); }

    void on_down(event_fn f) { on_down_.push_back(std::move(f)); }

    // Makes this a subscriber to channel (more than one may be added): each message's payload
    // goes to f, from every connection the link makes; the link is up once every channel is
    // subscribed. Add them before start().
    void subscribe(std::string channel, message_fn f);

    void start();
    // Closes the connection; calls in flight complete with nullopt. No reconnection after it.
    void stop();

    // Like stop(), after the commands already handed in are written and answered (at most
    // within limit): what a node says just before it exits still reaches Redis.
    boost::asio::awaitable<void> close(std::chrono::milliseconds limit);

    bool up() const { return up_; }

    // How many times the link has come up: tells a read made on this connection from one made
    // before a reconnection.
    std::uint64_t connections() const { return connections_; }

    const boost::asio::any_io_executor& executor() const { return executor_; }

    // The time the last PING took (the link pings every few seconds while up).
    std::chrono::microseconds latency() const { return latency_; }

    // Sends a command (argv form: binary-safe, no quoting). done runs on the executor, with
    // nullopt at once when the link is down.
    void command(std::vector<std::string> args, reply_fn done);

    boost::asio::awaitable<std::optional<redis_value>> call(std::vector<std::string> args);

private:
    struct pending;
    struct subscription;

    redis_link(boost::asio::any_io_executor executor, redis_endpoint endpoint, std::string name);

    void connect();
    void handshake();
    void became_up();
    void lost();  // the context is gone (hiredis freed it, or we did)
    void schedule_reconnect();
    void schedule_watch();
    void watch();  // timeouts and pings
    void send(std::vector<std::string> args, reply_fn done);
    void arm_read();
    void arm_write();

    static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
    static void on_message(redisAsyncContext* ac, void* reply, void* privdata);
    static void on_connect(const redisAsyncContext* ac, int status);
    static void on_disconnect(const redisAsyncContext* ac, int status);
    static void ev_add_read(void* privdata);
    static void ev_del_read(void* privdata);
    static void ev_add_write(void* privdata);
    static void ev_del_write(void* privdata);
    static void ev_cleanup(void* privdata);

    boost::asio::any_io_executor executor_;
    redis_endpoint endpoint_;
    std::string name_;
    redisAsyncContext* context_ = nullptr;
    std::shared_ptr<boost::asio::posix::stream_descriptor> socket_;
    unsigned generation_ = 0;  // of context_: handlers of an older one do nothing
    bool want_read_ = false, want_write_ = false, read_armed_ = false, write_armed_ = false;
    bool up_ = false, stopping_ = false, started_ = false;
    std::uint64_t connections_ = 0;
    std::string last_error_;  // the last failure logged, so a reconnect loop logs it once
    std::deque<std::shared_ptr<pending>> in_flight_;  // oldest first
    std::vector<std::unique_ptr<subscription>> subscriptions_;
    std::size_t confirmed_ = 0;  // subscriptions confirmed on this connection
    boost::asio::steady_timer reconnect_timer_;
    boost::asio::steady_timer watch_timer_;
    std::chrono::steady_clock::time_point last_ping_{};
    std::chrono::steady_clock::time_point connect_started_{};
    std::chrono::steady_clock::time_point last_reply_{};
    std::chrono::microseconds latency_{0};
    std::vector<event_fn> on_up_, on_down_;
};

}  // namespace outpost::cluster
