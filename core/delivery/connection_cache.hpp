// Idle SMTP connections kept after a delivery for the next one to the same server on the same
// terms, as Postfix's connection cache keeps them: a destination's next batch sends MAIL on the
// open connection instead of connecting, reading the greeting, EHLO and STARTTLS again. A
// connection waits idle for the time it was parked for (then QUIT), is not reused after
// `max_age`, and is dropped when the server has written anything (a 421 on an idle timeout) or
// closed it meanwhile.
// Event-loop only.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "core/delivery/delivery.hpp"
#include "core/smtp/client.hpp"

namespace outpost::delivery {

// An idle session: the stream, and the client between transactions.
struct parked_connection {
    using tls_stream = boost::asio::ssl::stream<boost::beast::tcp_stream>;

    std::variant<boost::beast::tcp_stream, tls_stream> stream;
    smtp::client client;
    std::string tls;            // its description, empty in the clear
    std::string verified_peer;  // the name its certificate was verified for, when it was
    std::chrono::steady_clock::time_point opened;
    std::chrono::steady_clock::time_point expires = {};  // of its idle wait
    std::string scope = {};                              // connection_cache_terms::scope
};

// Nothing received and not yet read as replies below the caller's own buffer: TLS keeps records
// it has read from the socket, which a look at the socket cannot see. Checked before a
// connection is parked and again before it is handed out.
bool nothing_buffered(boost::beast::tcp_stream& s);
bool nothing_buffered(parked_connection::tls_stream& s);

class connection_cache : public std::enable_shared_from_this<connection_cache> {
public:
    explicit connection_cache(
        boost::asio::any_io_executor ex,
        std::chrono::seconds max_age = std::chrono::minutes(5)  // Postfix's reuse time limit
    );

    // The most recently parked live connection under key, or null.
    std::unique_ptr<parked_connection> take(const std::string& key);

    // Keeps c for a later take(key) during terms.idle. At the terms' limits the oldest idle
    // connection under key makes room; without one, c gets QUIT (so does everything once the
    // cache is closed).
    void park(
        const std::string& key,
        std::unique_ptr<parked_connection> c,
        const connection_cache_terms& terms
    );

    // QUIT to every parked connection (sent while the event loop still runs); nothing is parked
    // from now on (shutdown).
    void close_all();

    std::size_t size() const { return count_; }

private:
    boost::asio::awaitable<void> sweep();
    static void retire(std::unique_ptr<parked_connection> c, bool say_quit);
    // Its counts, as c leaves the cache.
    void forget(const parked_connection& c);

    std::chrono::seconds max_age_;
    boost::asio::steady_timer timer_;
    std::map<std::string, std::deque<std::unique_ptr<parked_connection>>> idle_;
    std::size_t count_ = 0;
    std::map<std::string, std::size_t> per_scope_;
    bool sweeping_ = false;
    bool closed_ = false;
};

}  // namespace outpost::delivery
