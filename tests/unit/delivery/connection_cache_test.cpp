// connection_cache over real loopback connections: what is parked comes back while alive and
// within its terms, never after the server closed it, expires with a QUIT, and stays within the
// per-scope and total limits (the oldest under a key makes room).
#include "core/delivery/connection_cache.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <doctest/doctest.h>
#include <poll.h>

using namespace outpost;
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

struct loopback {
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::vector<tcp::socket> server_sides;

    // A connected client side, ready to park; the server side is kept in server_sides.
    std::unique_ptr<delivery::parked_connection> connect() {
        boost::beast::tcp_stream client(io);
        client.socket().connect(acceptor.local_endpoint());
        server_sides.push_back(acceptor.accept());
        return std::make_unique<delivery::parked_connection>(delivery::parked_connection{
            std::move(client), smtp::client(smtp::client_options{}), "", "",
            std::chrono::steady_clock::now()});
    }
};

int native_of(delivery::parked_connection& c) {
    return std::get<boost::beast::tcp_stream>(c.stream).socket().native_handle();
}

unsigned short port_of(const delivery::parked_connection& c) {
    return std::get<boost::beast::tcp_stream>(c.stream).socket().local_endpoint().port();
}

delivery::connection_cache_terms terms(std::size_t per_scope, std::size_t total = 100) {
    return {std::chrono::milliseconds(10'000), "domain:example.net", per_scope, total};
}

}  // namespace

TEST_CASE("a parked connection comes back under its key, and only there") {
    loopback net;
    auto cache = std::make_shared<delivery::connection_cache>(net.io.get_executor());
    auto c = net.connect();
    auto port = port_of(*c);
    cache->park("k", std::move(c), terms(5));
    CHECK(cache->size() == 1);
    CHECK(cache->take("other") == nullptr);
    auto back = cache->take("k");
    REQUIRE(back != nullptr);
    CHECK(port_of(*back) == port);
    CHECK(cache->size() == 0);
    CHECK(cache->take("k") == nullptr);
}

TEST_CASE("a connection the server closed or wrote to while parked is not handed out") {
    loopback net;
    auto cache = std::make_shared<delivery::connection_cache>(net.io.get_executor());
    auto closed = net.connect();
    auto spoke = net.connect();
    std::array<pollfd, 2> readable{
        pollfd{native_of(*closed), POLLIN, 0}, pollfd{native_of(*spoke), POLLIN, 0}};
    cache->park("closed", std::move(closed), terms(5));
    cache->park("spoke", std::move(spoke), terms(5));
    net.server_sides[0].close();
    asio::write(net.server_sides[1], asio::buffer(std::string("421 4.4.2 idle too long\r\n")));
    for (auto& p : readable)  // the FIN and the bytes have arrived
        REQUIRE(::poll(&p, 1, 5000) == 1);
    CHECK(cache->take("closed") == nullptr);
    CHECK(cache->take("spoke") == nullptr);
    CHECK(cache->size() == 0);
}

TEST_CASE("at the scope's limit the oldest under the key makes room; another key is refused") {
    loopback net;
    auto cache = std::make_shared<delivery::connection_cache>(net.io.get_executor());
    auto first = net.connect();
    auto second = net.connect();
    auto newest = port_of(*second);
    cache->park("k", std::move(first), terms(1));
    cache->park("k", std::move(second), terms(1));
    CHECK(cache->size() == 1);
    cache->park("k2", net.connect(), terms(1));  // same scope, no idle one of its own to drop
    CHECK(cache->size() == 1);
    CHECK(cache->take("k2") == nullptr);
    auto kept = cache->take("k");
    REQUIRE(kept != nullptr);
    CHECK(port_of(*kept) == newest);
    // A scope of its own has its own limit; the total applies to all.
    auto other = terms(5, 2);
    other.scope = "provider:other";
    cache->park("k3", net.connect(), other);
    cache->park("k4", net.connect(), other);
    cache->park("k5", net.connect(), other);
    CHECK(cache->size() == 2);
}

TEST_CASE("an idle connection gets QUIT when its time is up, and none is parked once closed") {
    loopback net;
    auto cache = std::make_shared<delivery::connection_cache>(net.io.get_executor());
    auto short_wait = terms(5);
    short_wait.idle = std::chrono::milliseconds(50);
    cache->park("k", net.connect(), short_wait);
    net.io.run_for(300ms);
    CHECK(cache->size() == 0);
    std::array<char, 16> got{};
    net.server_sides[0].non_blocking(true);
    boost::system::error_code ec;
    auto n = net.server_sides[0].read_some(asio::buffer(got), ec);
    CHECK(std::string(got.data(), n) == "QUIT\r\n");

    cache->park("k", net.connect(), terms(5));
    cache->close_all();
    CHECK(cache->size() == 0);
    cache->park("k", net.connect(), terms(5));
    CHECK(cache->size() == 0);
    CHECK(cache->take("k") == nullptr);
}
