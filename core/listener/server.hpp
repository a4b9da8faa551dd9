// The SMTP listeners: accepts connections on every [[listener]], drives one smtp::session per
// connection on the event loop, and upgrades to TLS. Limits: connections in total and per client,
// command and data timeouts, failed AUTH per client. Drains on shutdown.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config/schema.hpp"
#include "core/listener/auth_limiter.hpp"
#include "core/listener/intake.hpp"
#include "core/listener/users.hpp"
#include "core/smtp/session.hpp"

namespace outpost::listener {

struct connection;

class server {
public:
    // tls may be null when no listener uses TLS. users may be null when no listener offers AUTH.
    server(
        boost::asio::io_context& io,
        std::shared_ptr<const config::config> cfg,
        intake& in,
        std::shared_ptr<const user_table> users,
        std::shared_ptr<boost::asio::ssl::context> tls,
        boost::asio::thread_pool& workers
    );
    ~server();

    // Binds every listener (throws std::system_error naming the address when one cannot be bound)
    // and starts accepting.
    void start();

    // Stops accepting. Idle sessions get 421 4.3.2 at once; a message being received or spooled
    // finishes first; whatever is still running after grace gets 421 and is closed.
    boost::asio::awaitable<void> drain(std::chrono::steady_clock::duration grace);

    // The spool's free-space check at MAIL and RCPT (see smtp::session_options::storage_low).
    void set_storage_low(std::function<bool()> check) { storage_low_ = std::move(check); }

    // The suppression check at RCPT (see smtp::session_options::suppressed).
    void set_suppressed(std::function<std::optional<std::string>(const std::string&)> check) {
        suppressed_ = std::move(check);
    }

    // Reload: listeners that stay (same address) keep their socket and take their new settings;
    // new ones are bound, removed ones closed (their sessions finish); limits, relay networks and
    // the TLS context apply to new sessions. All or nothing: when a new listener cannot be bound,
    // nothing changes and the error says which.
    std::optional<std::string> reconfigure(
        std::shared_ptr<const config::config> cfg, std::shared_ptr<boost::asio::ssl::context> tls
    );

    // Reload: new users apply to later AUTH attempts.
    void set_users(std::shared_ptr<const user_table> users) { users_ = std::move(users); }

    std::size_t active_connections() const { return connections_.size(); }

    std::vector<std::string> bound_addresses() const;

private:
    // One bound [[listener]]: its socket and its current settings (replaced on reload).
    struct bound {
        boost::asio::ip::tcp::acceptor acceptor;
        std::shared_ptr<const config::listener> settings;
    };

    // Opens, binds and listens on l's address; an error names it.
    std::variant<boost::asio::ip::tcp::acceptor, std::string> bind(const config::listener& l);
    void serve_listener(bound& b);
    boost::asio::awaitable<void> accept_loop(bound& b);
    boost::asio::awaitable<void> serve(std::shared_ptr<connection> c);
    // Makes room for a client from newcomer when every connection is taken: closes the oldest
    // idle session of the address with the most connections. False when there is none to close.
    bool shed_for(const std::string& newcomer);
    boost::asio::awaitable<void> watchdog(std::shared_ptr<connection> c);
    // Runs the session over stream until it closes (false) or asks for TLS (true).
    template <class Stream>
    boost::asio::awaitable<bool> drive(
        Stream& stream, connection& c, std::vector<smtp::action> first
    );
    boost::asio::awaitable<smtp::auth_result> authenticate(
        connection& c, smtp::authenticate& request
    );
    smtp::session_options session_options_for(const connection& c) const;
    void forget(const std::shared_ptr<connection>& c);

    boost::asio::io_context& io_;
    std::shared_ptr<const config::config> cfg_;
    intake& intake_;
    std::shared_ptr<const user_table> users_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    boost::asio::thread_pool& workers_;
    auth_limiter limiter_;
    std::string report_address_;  // [dmarc]: also a restart
    std::string bounce_domain_;   // as intake and feedback have it: bounce settings need a restart
    std::list<bound> acceptors_;  // closed ones stay (closed) until the server ends
    std::list<std::shared_ptr<connection>> connections_;
    std::unordered_map<std::string, unsigned> per_client_;
    bool draining_ = false;
    std::function<std::optional<std::string>(const std::string&)> suppressed_;
    std::function<bool()> storage_low_;
};

}  // namespace outpost::listener
