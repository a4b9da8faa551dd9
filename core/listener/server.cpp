#include "core/listener/server.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>

#include "core/listener/tls_context.hpp"
#include "core/util/log.hpp"
#include "core/util/metrics.hpp"
#include "core/util/offload.hpp"

namespace outpost::listener {

namespace asio = boost::asio;
using asio::ip::tcp;
using clock = std::chrono::steady_clock;

struct connection {
    connection(tcp::socket s, std::shared_ptr<const config::listener> l)
        : socket(std::move(s)),
          watchdog(socket.get_executor(), clock::time_point::max()),
          listener(std::move(l)) {}

    tcp::socket socket;
    asio::steady_timer watchdog;
    std::shared_ptr<const config::listener> listener;  // the settings it was accepted under
    std::shared_ptr<asio::ssl::context> tls_context;   // likewise: a reload may drop [tls]
    std::string client_ip;
    std::string tls;  // description once TLS is up
    clock::time_point deadline = clock::time_point::max();
    bool timed_out = false;
    bool idle = false;      // waiting for the next command, outside any transfer
    bool draining = false;  // the server is shutting down
    bool force = false;     // the drain grace is over
    bool shed = false;      // closed to make room for a client from another address
    clock::time_point session_deadline = clock::time_point::max();  // [limits] session_timeout
    bool done = false;
    std::optional<smtp::session> session;
    std::string in;  // received, not yet consumed by the session
};

namespace {

// Input is read in pieces this big; the session consumes it as it comes, so a connection never
// holds more than this plus one partial line (bounded by the command length limit) plus the
// message being received (bounded by max_message_size).
constexpr std::size_t read_chunk = 16 * 1024;
constexpr auto handshake_timeout = std::chrono::seconds(30);
constexpr auto goodbye_timeout = std::chrono::seconds(10);

// Moves the connection's deadline (never past the session's own); the watchdog timer is re-armed
// only when the deadline comes earlier, so pushing it forward on every read costs nothing.
void arm(connection& c, clock::time_point t) {
    t = std::min(t, c.session_deadline);
    c.deadline = t;
    if (t < c.watchdog.expiry())
        c.watchdog.expires_at(t);
}

std::string endpoint_text(const tcp::endpoint& e) {
    auto a = e.address();
    return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), e.port())
                     : fmt::format("{}:{}", a.to_string(), e.port());
}

bool client_allowed(const config::config& cfg, const asio::ip::address& a) {
    for (const auto& n : cfg.relay.allowed_networks)
        if (n.contains(a))
            return true;
    return false;
}

smtp::auth_mode to_session(config::auth_policy p) {
    switch (p) {
        case config::auth_policy::none:
            return smtp::auth_mode::none;
        case config::auth_policy::required:
            return smtp::auth_mode::required;
        case config::auth_policy::optional:
            break;
    }
    return smtp::auth_mode::optional;
}

}  // namespace

server::server(
    asio::io_context& io,
    std::shared_ptr<const config::config> cfg,
    intake& in,
    std::shared_ptr<const user_table> users,
    std::shared_ptr<asio::ssl::context> tls,
    asio::thread_pool& workers
)
    : io_(io),
      cfg_(std::move(cfg)),
      intake_(in),
      users_(std::move(users)),
      tls_(std::move(tls)),
      workers_(workers),
      limiter_(cfg_->auth.max_failures, cfg_->auth.failure_window),
      report_address_(cfg_->dmarc.report_address),
      bounce_domain_(cfg_->bounce.domain) {}

server::~server() = default;

std::variant<tcp::acceptor, std::string> server::bind(const config::listener& l) {
    boost::system::error_code ec;
    auto host = l.address.host;
    if (host.size() > 1 && host.front() == '[')
        host = host.substr(1, host.size() - 2);
    auto address = asio::ip::make_address(host, ec);
    if (ec)
        return fmt::format("listener {}: {}", l.address.text(), ec.message());
    tcp::endpoint ep(address, l.address.port);
    tcp::acceptor acceptor(io_);
    acceptor.open(ep.protocol(), ec);
    if (!ec)
        acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && ep.address().is_v6())
        acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec)
        acceptor.bind(ep, ec);
    if (!ec)
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        return fmt::format("listener {}: {}", endpoint_text(ep), ec.message());
    return acceptor;
}

void server::serve_listener(bound& b) {
    const auto& l = *b.settings;
    log::info(
        "listening", {{"address", endpoint_text(b.acceptor.local_endpoint())},
                      {"tls", l.tls == config::tls_mode::none       ? "none"
                              : l.tls == config::tls_mode::starttls ? "starttls"
                                                                    : "implicit"},
                      {"auth", l.auth == config::auth_policy::none       ? "none"
                               : l.auth == config::auth_policy::optional ? "optional"
                                                                         : "required"},
                      {"priority", l.priority}}
    );
    asio::co_spawn(io_, accept_loop(b), asio::detached);
}

void server::start() {
    for (const auto& l : cfg_->listeners) {
        auto bound_or = bind(l);
        if (auto* error = std::get_if<std::string>(&bound_or))
            throw std::runtime_error(*error);
        auto& b = acceptors_.emplace_back(bound{
            std::move(std::get<tcp::acceptor>(bound_or)),
            std::make_shared<const config::listener>(l)});
        serve_listener(b);
    }
}

std::optional<std::string> server::reconfigure(
    std::shared_ptr<const config::config> cfg, std::shared_ptr<asio::ssl::context> tls
) {
    if (draining_)
        return "shutting down";
    // Which new listener keeps which open socket (same address text), and which are new.
    std::vector<bound*> kept(cfg->listeners.size(), nullptr);
    std::list<bound> fresh;
    for (std::size_t i = 0; i < cfg->listeners.size(); ++i) {
        const auto& l = cfg->listeners[i];
        for (auto& b : acceptors_)
            if (b.acceptor.is_open() && b.settings->address.text() == l.address.text())
                kept[i] = &b;
        if (kept[i])
            continue;
        auto bound_or = bind(l);
        if (auto* error = std::get_if<std::string>(&bound_or))
            return *error;  // the sockets bound so far close with fresh
        fresh.push_back(bound{
            std::move(std::get<tcp::acceptor>(bound_or)),
            std::make_shared<const config::listener>(l)});
    }
    // Commit: nothing below fails.
    for (auto& b : acceptors_) {
        if (!b.acceptor.is_open() || std::find(kept.begin(), kept.end(), &b) != kept.end())
            continue;
        boost::system::error_code ec;
        log::info("listener_closed", {{"address", b.settings->address.text()}});
        b.acceptor.close(ec);
    }
    for (std::size_t i = 0; i < kept.size(); ++i)
        if (kept[i])
            kept[i]->settings = std::make_shared<const config::listener>(cfg->listeners[i]);
    for (auto it = fresh.begin(); it != fresh.end();) {
        auto next = std::next(it);
        acceptors_.splice(acceptors_.end(), fresh, it);
        serve_listener(acceptors_.back());
        it = next;
    }
    cfg_ = std::move(cfg);
    tls_ = std::move(tls);
    return std::nullopt;
}

std::vector<std::string> server::bound_addresses() const {
    std::vector<std::string> out;
    for (const auto& b : acceptors_) {
        boost::system::error_code ec;
        if (!b.acceptor.is_open())
            continue;
        auto ep = b.acceptor.local_endpoint(ec);
        if (!ec)
            out.push_back(endpoint_text(ep));
    }
    return out;
}

asio::awaitable<void> server::accept_loop(bound& b) {
    auto& acceptor = b.acceptor;
    for (;;) {
        boost::system::error_code ec;
        // The client's address comes with the accept itself (no getpeername per connection).
        tcp::endpoint remote;
        auto socket =
            co_await acceptor.async_accept(remote, asio::redirect_error(asio::use_awaitable, ec));
        if (draining_ || !acceptor.is_open())
            co_return;  // a connection accepted as the drain began is closed unanswered
        if (ec) {
            if (ec == asio::error::operation_aborted)
                co_return;
            // EMFILE and friends: wait a little instead of spinning.
            log::warn("accept_failed", {{"error", ec.message()}});
            asio::steady_timer pause(io_, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::use_awaitable);
            continue;
        }
        auto c = std::make_shared<connection>(std::move(socket), b.settings);
        c->tls_context = tls_;
        auto ip = remote.address();
        if (ip.is_v6() && ip.to_v6().is_v4_mapped())
            ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
        c->client_ip = ip.to_string();
        c->socket.set_option(tcp::no_delay(true), ec);
        connections_.push_back(c);
        auto& count = per_client_[c->client_ip];
        ++count;
        asio::co_spawn(io_, serve(c), asio::detached);
    }
}

void server::forget(const std::shared_ptr<connection>& c) {
    connections_.remove(c);
    auto it = per_client_.find(c->client_ip);
    if (it != per_client_.end() && --it->second == 0)
        per_client_.erase(it);
}

smtp::session_options server::session_options_for(const connection& c) const {
    smtp::session_options o;
    o.hostname = cfg_->server.hostname;
    o.client_address = c.client_ip;
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(c.client_ip, ec);
    o.client_trusted = !ec && client_allowed(*cfg_, ip);
    o.priority = c.listener->priority;
    o.starttls_available =
        c.listener->tls == config::tls_mode::starttls && c.tls_context != nullptr;
    o.tls_active = false;
    o.auth = users_ ? to_session(c.listener->auth) : smtp::auth_mode::none;
    if (c.listener->auth == config::auth_policy::required)
        o.auth = smtp::auth_mode::required;
    o.bounce_domain = bounce_domain_;
    o.report_address = report_address_;
    o.max_message_size = cfg_->limits.max_message_size;
    o.max_recipients = cfg_->limits.max_recipients;
    o.max_line_length = cfg_->limits.max_line_length;
    o.max_command_length = cfg_->limits.max_command_length;
    o.max_errors = cfg_->limits.max_errors;
    o.max_commands = cfg_->limits.max_commands;
    o.max_junk_commands = cfg_->limits.max_junk_commands;
    o.suppressed = suppressed_;
    o.storage_low = storage_low_;
    o.on_rcpt_refused = [](std::string_view reason) { util::metrics().rcpt_refused.add(reason); };
    return o;
}

bool server::shed_for(const std::string& newcomer) {
    // The address holding the most connections, if it holds at least two: one address trickling
    // a thousand connections must not lock out everyone else.
    std::string heaviest;
    std::size_t most = 1;
    for (const auto& [ip, n] : per_client_)
        if (ip != newcomer && n > most) {
            most = n;
            heaviest = ip;
        }
    if (heaviest.empty())
        return false;
    // Its oldest session waiting for a command (connections_ is in order of arrival).
    for (auto& victim : connections_)
        if (victim->client_ip == heaviest && victim->idle && !victim->shed && !victim->force) {
            victim->shed = true;
            boost::system::error_code ec;
            victim->socket.cancel(ec);
            log::warn(
                "connection_shed", {{"client", heaviest}, {"connections", most}, {"for", newcomer}}
            );
            return true;
        }
    return false;
}

asio::awaitable<void> server::watchdog(std::shared_ptr<connection> c) {
    // One timer per connection enforces every deadline: reads, writes and handshakes just move
    // c->deadline, which costs nothing, instead of arming a timer per operation.
    while (!c->done) {
        c->watchdog.expires_at(c->deadline);
        boost::system::error_code ec;
        co_await c->watchdog.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (c->done)
            co_return;
        if (clock::now() >= c->deadline) {
            c->timed_out = true;
            c->deadline = clock::time_point::max();
            c->socket.cancel(ec);
        }
    }
}

asio::awaitable<smtp::auth_result> server::authenticate(
    connection& c, smtp::authenticate& request
) {
    auto users = users_;
    auto now = clock::now();
    auto result = smtp::auth_result::failure;
    if (limiter_.locked_out(c.client_ip, now)) {
        log::warn("auth_locked_out", {{"client", c.client_ip}, {"user", request.user}});
        result = smtp::auth_result::locked_out;
    } else if (!users) {
        result = smtp::auth_result::temporary_failure;
    } else {
        auto ok = co_await util::offload(workers_, [&] {
            return users->verify(request.user, request.password);
        });
        if (ok) {
            result = smtp::auth_result::success;
            log::info(
                "auth_ok",
                {{"client", c.client_ip}, {"user", request.user}, {"mechanism", request.mechanism}}
            );
        } else {
            limiter_.record_failure(c.client_ip, clock::now());
            log::warn(
                "auth_failed",
                {{"client", c.client_ip}, {"user", request.user}, {"mechanism", request.mechanism}}
            );
        }
    }
    OPENSSL_cleanse(request.password.data(), request.password.size());
    co_return result;
}

template <class Stream>
asio::awaitable<bool> server::drive(
    Stream& stream, connection& c, std::vector<smtp::action> first
) {
    auto& s = *c.session;
    std::deque<smtp::action> todo(
        std::make_move_iterator(first.begin()), std::make_move_iterator(first.end())
    );
    auto queue = [&](std::vector<smtp::action> more) {
        for (auto& a : more)
            todo.push_back(std::move(a));
    };
    std::string out;
    std::array<char, read_chunk> buffer;
    boost::system::error_code ec;

    // Replies are collected and written when the session needs more input or before anything
    // slow, so a pipelined batch of commands costs one write (RFC 2920).
    auto flush = [&]() -> asio::awaitable<bool> {
        if (out.empty())
            co_return true;
        // A closing session keeps its short goodbye deadline; others get the command timeout.
        if (!s.closed() && !c.timed_out)
            arm(c, clock::now() + cfg_->limits.command_timeout);
        co_await asio::async_write(
            stream, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec)
        );
        out.clear();
        co_return !ec;
    };

    std::optional<clock::time_point> content_started;
    clock::time_point line_started = clock::now();
    for (;;) {
        while (!todo.empty()) {
            auto a = std::move(todo.front());
            todo.pop_front();
            if (auto* r = std::get_if<smtp::send_reply>(&a)) {
                out += r->r.wire();
            } else if (std::holds_alternative<smtp::close_connection>(a)) {
                co_await flush();
                co_return false;
            } else if (std::holds_alternative<smtp::start_tls>(a)) {
                // RFC 3207 §4.2: input pipelined after STARTTLS is discarded (a plaintext
                // injection attack otherwise).
                c.in.clear();
                co_return co_await flush();
            } else if (auto* au = std::get_if<smtp::authenticate>(&a)) {
                if (!co_await flush())
                    co_return false;
                queue(s.on_auth_result(co_await authenticate(c, *au)));
            } else if (auto* m = std::get_if<smtp::accept_message>(&a)) {
                m->env.tls = c.tls;
                auto result = co_await intake_.accept(std::move(m->env), std::move(m->content));
                queue(s.on_message_result(result));
            }
        }
        if (s.closed()) {
            co_await flush();
            co_return false;
        }
        if (!c.in.empty() && !s.waiting()) {
            auto r = s.on_input(c.in);
            if (r.consumed > 0 || !r.actions.empty()) {
                c.in.erase(0, r.consumed);
                queue(std::move(r.actions));
                continue;
            }
        }
        if (c.force || (c.draining && !s.receiving_content())) {
            queue(s.on_shutdown());
            continue;
        }
        if (c.shed) {
            queue(s.on_overload());
            continue;
        }
        if (!co_await flush())
            co_return false;
        if (s.receiving_content()) {
            // The whole transfer has one deadline: a client trickling a byte a minute cannot keep
            // a connection forever.
            if (!content_started)
                content_started = clock::now();
            arm(c, *content_started + cfg_->limits.data_timeout);
        } else {
            content_started.reset();
            // One command line has one deadline from its first byte: a client trickling a byte
            // every few seconds cannot stretch it (the timer used to restart with every read).
            if (c.in.empty())
                line_started = clock::now();
            arm(c, line_started + cfg_->limits.command_timeout);
        }
        c.idle = !s.receiving_content();
        auto n = co_await stream.async_read_some(
            asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec)
        );
        c.idle = false;
        if (ec) {
            if (c.timed_out) {
                c.timed_out = false;
                log::info("session_timeout", {{"client", c.client_ip}});
                queue(s.on_timeout());
                arm(c, clock::now() + goodbye_timeout);
                continue;
            }
            if (ec == asio::error::operation_aborted && (c.draining || c.force || c.shed))
                continue;
            co_return false;  // the client went away
        }
        c.in.append(buffer.data(), n);
    }
}

asio::awaitable<void> server::serve(std::shared_ptr<connection> c) {
    auto self = c;
    asio::co_spawn(io_, watchdog(c), asio::detached);
    auto started = clock::now();
    c->session_deadline = started + cfg_->limits.session_timeout;
    c->session.emplace(session_options_for(*c));
    log::debug("session_start", {{"client", c->client_ip}});
    try {
        bool too_many = per_client_[c->client_ip] > cfg_->limits.max_connections_per_client;
        if (!too_many && connections_.size() > cfg_->limits.max_connections)
            too_many = !shed_for(c->client_ip);
        if (too_many || draining_) {
            auto text = draining_ ? "421 4.3.2 Service shutting down, try again later\r\n"
                                  : "421 4.7.0 Too many connections, try again later\r\n";
            if (too_many)
                log::warn(
                    "connection_refused",
                    {{"client", c->client_ip}, {"reason", "too many connections"}}
                );
            arm(*c, clock::now() + goodbye_timeout);
            boost::system::error_code ec;
            co_await asio::async_write(
                c->socket, asio::buffer(std::string_view(text)),
                asio::redirect_error(asio::use_awaitable, ec)
            );
        } else if (c->listener->tls == config::tls_mode::implicit) {
            asio::ssl::stream<tcp::socket&> tls(c->socket, *c->tls_context);
            arm(*c, clock::now() + handshake_timeout);
            boost::system::error_code ec;
            co_await tls.async_handshake(
                asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec)
            );
            if (ec) {
                log::info(
                    "tls_handshake_failed", {{"client", c->client_ip}, {"error", ec.message()}}
                );
            } else {
                c->tls = describe_tls(tls.native_handle());
                c->session->on_tls_started(c->tls);
                co_await drive(tls, *c, c->session->greet());
                arm(*c, clock::now() + goodbye_timeout);
                co_await tls.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
            }
        } else if (co_await drive(c->socket, *c, c->session->greet())) {
            asio::ssl::stream<tcp::socket&> tls(c->socket, *c->tls_context);
            arm(*c, clock::now() + handshake_timeout);
            boost::system::error_code ec;
            co_await tls.async_handshake(
                asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec)
            );
            if (ec) {
                log::info(
                    "tls_handshake_failed", {{"client", c->client_ip}, {"error", ec.message()}}
                );
            } else {
                c->tls = describe_tls(tls.native_handle());
                co_await drive(tls, *c, c->session->on_tls_started(c->tls));
                arm(*c, clock::now() + goodbye_timeout);
                co_await tls.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
            }
        }
    } catch (const std::exception& e) {
        log::error("session_failed", {{"client", c->client_ip}, {"error", e.what()}});
    }
    c->done = true;
    boost::system::error_code ignored;
    c->watchdog.cancel();
    // close(2) alone sends the FIN (or the RST for unread input) as shutdown(2) then close did.
    c->socket.close(ignored);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count();
    log::debug("session_end", {{"client", c->client_ip}, {"ms", ms}});
    forget(self);
}

asio::awaitable<void> server::drain(clock::duration grace) {
    draining_ = true;
    boost::system::error_code ec;
    // Closed, not destroyed: an accept loop may still be between awaits with a reference to one.
    for (auto& a : acceptors_)
        a.acceptor.close(ec);
    for (auto& c : connections_) {
        c->draining = true;
        if (c->idle)
            c->socket.cancel(ec);
    }
    asio::steady_timer tick(io_);
    auto until = clock::now() + grace;
    while (!connections_.empty() && clock::now() < until) {
        tick.expires_after(std::chrono::milliseconds(50));
        co_await tick.async_wait(asio::use_awaitable);
        for (auto& c : connections_)
            if (c->idle)
                c->socket.cancel(ec);
    }
    if (!connections_.empty())
        log::warn("drain_timeout", {{"sessions", connections_.size()}});
    for (auto& c : connections_) {
        c->force = true;
        c->socket.cancel(ec);
    }
    // Sessions forced off get goodbye_timeout to write their 421; then their sockets are closed.
    auto hard = clock::now() + goodbye_timeout;
    while (!connections_.empty() && clock::now() < hard) {
        tick.expires_after(std::chrono::milliseconds(50));
        co_await tick.async_wait(asio::use_awaitable);
    }
    for (auto& c : connections_)
        c->socket.close(ec);
}

}  // namespace outpost::listener
