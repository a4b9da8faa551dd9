#include "core/delivery/connection_cache.hpp"

#include <array>
#include <cerrno>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

namespace outpost::delivery {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using clock = std::chrono::steady_clock;

constexpr auto token = asio::as_tuple(asio::use_awaitable);
constexpr auto goodbye_timeout = std::chrono::seconds(1);

int native_socket(parked_connection& c) {
    return std::visit(
        [](auto& s) { return beast::get_lowest_layer(s).socket().native_handle(); }, c.stream
    );
}

// Nothing to read and not closed: a server that timed the session out has written its 421, or
// closed, and either shows here without consuming anything.
bool alive(parked_connection& c) {
    if (!std::visit([](auto& s) { return nothing_buffered(s); }, c.stream))
        return false;
    char byte = 0;
    auto n = ::recv(native_socket(c), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// QUIT, its 221 (or a second's wait), then close: closing before the reply came would answer
// the server's 221 with a reset.
template <class Stream>
asio::awaitable<void> say_goodbye(Stream& s) {
    static constexpr std::string_view quit = "QUIT\r\n";
    beast::get_lowest_layer(s).expires_after(goodbye_timeout);
    auto [write_error, written] = co_await asio::async_write(s, asio::buffer(quit), token);
    if (!write_error) {
        std::array<char, 512> reply{};
        beast::get_lowest_layer(s).expires_after(goodbye_timeout);
        co_await s.async_read_some(asio::buffer(reply), token);
    }
    beast::get_lowest_layer(s).close();
}

asio::awaitable<void> goodbye(std::unique_ptr<parked_connection> c) {
    if (auto* plain = std::get_if<beast::tcp_stream>(&c->stream))
        co_await say_goodbye(*plain);
    else
        co_await say_goodbye(std::get<parked_connection::tls_stream>(c->stream));
}

}  // namespace

bool nothing_buffered(beast::tcp_stream&) {
    return true;
}

bool nothing_buffered(parked_connection::tls_stream& s) {
    SSL* ssl = s.native_handle();
    return !SSL_has_pending(ssl) && BIO_ctrl_pending(SSL_get_rbio(ssl)) == 0;
}

connection_cache::connection_cache(asio::any_io_executor ex, std::chrono::seconds max_age)
    : max_age_(max_age), timer_(std::move(ex)) {}

void connection_cache::retire(std::unique_ptr<parked_connection> c, bool say_quit) {
    if (!say_quit) {
        boost::system::error_code ignored;
        std::visit([&](auto& s) { beast::get_lowest_layer(s).socket().close(ignored); }, c->stream);
        return;
    }
    auto ex = std::visit([](auto& s) { return s.get_executor(); }, c->stream);
    asio::co_spawn(ex, goodbye(std::move(c)), asio::detached);
}

std::unique_ptr<parked_connection> connection_cache::take(const std::string& key) {
    auto it = idle_.find(key);
    if (it == idle_.end())
        return nullptr;
    auto& waiting = it->second;
    auto now = clock::now();
    std::unique_ptr<parked_connection> found;
    while (!waiting.empty() && !found) {
        auto c = std::move(waiting.back());
        waiting.pop_back();
        forget(*c);
        if (now - c->opened >= max_age_ || c->expires <= now)
            retire(std::move(c), true);
        else if (!alive(*c))
            retire(std::move(c), false);
        else
            found = std::move(c);
    }
    if (waiting.empty())
        idle_.erase(it);
    return found;
}

void connection_cache::forget(const parked_connection& c) {
    --count_;
    auto it = per_scope_.find(c.scope);
    if (it != per_scope_.end() && --it->second == 0)
        per_scope_.erase(it);
}

void connection_cache::park(
    const std::string& key,
    std::unique_ptr<parked_connection> c,
    const connection_cache_terms& terms
) {
    auto now = clock::now();
    auto idle = terms.idle;
    if (closed_ || idle.count() <= 0 || now - c->opened >= max_age_) {
        retire(std::move(c), true);
        return;
    }
    auto full = [&] {
        auto in_scope = per_scope_.find(terms.scope);
        return count_ >= terms.total ||
               (in_scope != per_scope_.end() && in_scope->second >= terms.per_scope);
    };
    auto& waiting = idle_[key];
    if (full() && !waiting.empty()) {  // the newest is the likeliest to be alive
        forget(*waiting.front());
        retire(std::move(waiting.front()), true);
        waiting.pop_front();
    }
    if (full() || terms.per_scope == 0) {
        if (waiting.empty())
            idle_.erase(key);
        retire(std::move(c), true);
        return;
    }
    c->scope = terms.scope;
    ++per_scope_[c->scope];
    c->expires = now + idle;
    waiting.push_back(std::move(c));
    ++count_;
    if (!sweeping_) {
        sweeping_ = true;
        asio::co_spawn(timer_.get_executor(), sweep(), asio::detached);
    } else if (now + idle < timer_.expiry()) {
        timer_.cancel();  // the sweep looks again, and waits for this one
    }
}

void connection_cache::close_all() {
    closed_ = true;
    timer_.cancel();
    for (auto& [key, waiting] : idle_)
        for (auto& c : waiting)
            retire(std::move(c), true);
    idle_.clear();
    count_ = 0;
    per_scope_.clear();
}

asio::awaitable<void> connection_cache::sweep() {
    auto self = shared_from_this();
    while (count_ > 0 && !closed_) {
        auto now = clock::now();
        auto earliest = clock::time_point::max();
        for (auto it = idle_.begin(); it != idle_.end();) {
            auto& waiting = it->second;
            for (auto c = waiting.begin(); c != waiting.end();) {
                if ((*c)->expires <= now) {
                    retire(std::move(*c), true);
                    c = waiting.erase(c);
                    --count_;
                } else {
                    earliest = std::min(earliest, (*c)->expires);
                    ++c;
                }
            }
            it = waiting.empty() ? idle_.erase(it) : std::next(it);
        }
        if (count_ == 0)
            break;
        timer_.expires_at(earliest);
        boost::system::error_code ec;
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    sweeping_ = false;
}

}  // namespace outpost::delivery
