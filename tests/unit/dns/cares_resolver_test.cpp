// The c-ares resolver against a DNS server in the test process: answers, failures, the cache,
// TCP fallback, cancellation and shutdown, all on one io_context thread.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <doctest/doctest.h>

#include "core/dns/destination.hpp"
#include "core/dns/resolver.hpp"
#include "tests/unit/dns/test_server.hpp"

using namespace outpost::dns;
using namespace outpost::dns::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// A zone for the tests: example.test has two MX hosts, nomx.test only an address, null.test a
// null MX, broken.test fails, silent.test never answers, anything else does not exist.
std::optional<response> zone(const outpost::dns::detail::question& q) {
    using namespace outpost::dns::detail;
    response r;
    if (q.name == "silent.test")
        return std::nullopt;
    if (q.name == "broken.test") {
        r.rcode = rcode::servfail;
        return r;
    }
    if (q.name == "example.test" && q.type == rr_type::mx) {
        r.answers = {
            mx_rr("example.test", 300, 20, "mx2.example.test"),
            mx_rr("example.test", 120, 10, "mx1.example.test")};
        return r;
    }
    if (q.name == "mx1.example.test" && q.type == rr_type::a) {
        r.answers = {a_rr("mx1.example.test", 300, "127.0.0.2")};
        return r;
    }
    if (q.name == "mx1.example.test" && q.type == rr_type::aaaa) {
        r.answers = {aaaa_rr("mx1.example.test", 300, "::1")};
        return r;
    }
    if (q.name == "mx2.example.test" && q.type == rr_type::a) {
        r.answers = {a_rr("mx2.example.test", 300, "127.0.0.3")};
        return r;
    }
    if (q.name == "example.test" && q.type == rr_type::txt) {
        r.answers = {txt_rr("example.test", 60, {"v=DKIM1; ", "p=abc"})};
        return r;
    }
    if (q.name == "2.0.0.127.in-addr.arpa" && q.type == rr_type::ptr) {
        r.answers = {name_rr(q.name, rr_type::ptr, 60, "mx1.example.test")};
        return r;
    }
    // secure.test: a signed zone, as a validating resolver reports it (AD set).
    if (q.name == "secure.test" && q.type == rr_type::mx) {
        r.answers = {mx_rr("secure.test", 300, 10, "mx.secure.test")};
        r.authenticated = true;
        return r;
    }
    if (q.name == "mx.secure.test" && q.type == rr_type::a) {
        r.answers = {a_rr("mx.secure.test", 300, "127.0.0.5")};
        r.authenticated = true;
        return r;
    }
    if (q.name == "mx.secure.test" && q.type == rr_type::aaaa) {
        r.authorities = {soa_rr("secure.test", 300, 60)};
        r.authenticated = true;
        return r;  // nodata, validated
    }
    // mx.half.test: a validated A record, an AAAA record the resolver did not validate.
    if (q.name == "mx.half.test" && q.type == rr_type::a) {
        r.answers = {a_rr("mx.half.test", 300, "127.0.0.6")};
        r.authenticated = true;
        return r;
    }
    if (q.name == "mx.half.test" && q.type == rr_type::aaaa) {
        r.answers = {aaaa_rr("mx.half.test", 300, "::1")};
        return r;
    }
    if (q.name == "_25._tcp.mx.secure.test" && q.type == rr_type::tlsa) {
        r.answers = {
            tlsa_rr(q.name, 600, 3, 1, 1, bytes(32, 0xAB)),
            tlsa_rr(q.name, 600, 2, 0, 2, bytes(64, 0xCD))};
        r.authenticated = true;
        return r;
    }
    if (q.name == "null.test" && q.type == rr_type::mx) {
        r.answers = {mx_rr("null.test", 300, 0, "")};
        return r;
    }
    if (q.name == "nomx.test" && q.type == rr_type::a) {
        r.answers = {a_rr("nomx.test", 300, "127.0.0.4")};
        return r;
    }
    if (q.name == "nomx.test" || q.name == "example.test" || q.name.ends_with(".example.test")) {
        r.authorities = {soa_rr("example.test", 300, 60)};
        return r;  // nodata
    }
    r.rcode = rcode::nxdomain;
    r.authorities = {soa_rr("test", 300, 60)};
    return r;
}

// Runs body on a fresh io_context with a test server and a resolver pointed at it.
template <class Body>
void with_resolver(Body body, resolver_options options = {}, bool truncate = false) {
    asio::io_context ctx;
    test_server server(ctx, zone);
    server.truncate_udp = truncate;
    options.servers = {{"127.0.0.1", server.port()}};
    if (options.timeout == 5000ms)
        options.timeout = 300ms;
    options.tries = 1;
    auto r = make_cares_resolver(ctx.get_executor(), options);
    bool finished = false;
    std::exception_ptr failure;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            co_await body(*r, server);
            finished = true;
            r->shutdown();
            server.stop();
        },
        [&](std::exception_ptr e) { failure = e; }
    );
    ctx.run_for(20s);
    if (failure)
        std::rethrow_exception(failure);
    CHECK(finished);
}

}  // namespace

TEST_CASE("cares resolver reads MX records from the configured server") {
    with_resolver([](resolver& r, test_server&) -> asio::awaitable<void> {
        auto mx = co_await r.mx("Example.TEST.");
        REQUIRE(mx.result == status::ok);
        REQUIRE(mx.records.size() == 2);
        CHECK(mx.records[0].preference == 20);
        CHECK(mx.records[0].host == "mx2.example.test");
        CHECK(mx.records[1].host == "mx1.example.test");
        CHECK(mx.ttl == 120s);
    });
}

TEST_CASE("cares resolver tells nxdomain, nodata, servfail and timeout apart") {
    with_resolver([](resolver& r, test_server&) -> asio::awaitable<void> {
        CHECK((co_await r.mx("nowhere.test")).result == status::nxdomain);
        CHECK((co_await r.mx("nomx.test")).result == status::nodata);
        CHECK((co_await r.mx("broken.test")).result == status::servfail);
        CHECK((co_await r.mx("silent.test")).result == status::timeout);
        CHECK((co_await r.mx("not a name")).result == status::nxdomain);
    });
}

TEST_CASE("cares resolver answers A, AAAA, TXT and PTR") {
    with_resolver([](resolver& r, test_server&) -> asio::awaitable<void> {
        auto both = co_await r.address("mx1.example.test");
        REQUIRE(both.ok());
        REQUIRE(both.records.size() == 2);
        CHECK(both.records[0].to_string() == "127.0.0.2");
        CHECK(both.records[1].to_string() == "::1");
        auto v6 = co_await r.aaaa("mx2.example.test");
        CHECK(v6.result == status::nodata);
        auto txt = co_await r.txt("example.test");
        REQUIRE(txt.ok());
        REQUIRE(txt.records.size() == 1);
        CHECK(txt.records[0] == "v=DKIM1; p=abc");
        auto ptr = co_await r.ptr(asio::ip::make_address("127.0.0.2"));
        REQUIRE(ptr.ok());
        CHECK(ptr.records == std::vector<std::string>{"mx1.example.test"});
    });
}

TEST_CASE("cares resolver asks for the AD bit and reads TLSA records") {
    with_resolver([](resolver& r, test_server&) -> asio::awaitable<void> {
        // The server sets AD only when the query asked for it, as unbound does.
        auto mx = co_await r.mx("secure.test");
        REQUIRE(mx.ok());
        CHECK(mx.authenticated);
        auto address = co_await r.address("mx.secure.test");
        REQUIRE(address.ok());
        CHECK(address.authenticated);  // A and a validated nodata for AAAA
        auto half = co_await r.address("mx.half.test");
        REQUIRE(half.ok());
        CHECK_FALSE(half.authenticated);  // one of its addresses was not validated
        auto tlsa = co_await r.tlsa("_25._tcp.mx.secure.test");
        REQUIRE(tlsa.ok());
        CHECK(tlsa.authenticated);
        REQUIRE(tlsa.records.size() == 2);
        CHECK(tlsa.records[0].usage == 3);
        CHECK(tlsa.records[0].selector == 1);
        CHECK(tlsa.records[0].matching_type == 1);
        CHECK(tlsa.records[0].data == std::vector<std::uint8_t>(32, 0xAB));
        CHECK(tlsa.records[1].usage == 2);
        CHECK(tlsa.records[1].data.size() == 64);
        CHECK(tlsa.ttl == 600s);
        // An unsigned zone's answers are not.
        auto plain = co_await r.mx("example.test");
        REQUIRE(plain.ok());
        CHECK_FALSE(plain.authenticated);
        auto mixed = co_await r.address("mx1.example.test");
        CHECK_FALSE(mixed.authenticated);
        // A cached answer keeps its flag.
        CHECK((co_await r.tlsa("_25._tcp.mx.secure.test")).authenticated);
    });
}

TEST_CASE("cares resolver gives each query its own unpredictable ID") {
    with_resolver(
        [](resolver& r, test_server& server) -> asio::awaitable<void> {
            for (const char* name : {"example.test", "nomx.test", "null.test", "secure.test"})
                co_await r.mx(name);
            // ares_send sends the ID it is given: four queries with one ID would be a constant.
            CHECK(server.ids().size() >= 3);
        },
        resolver_options{{}, 5000ms, 2, false}
    );
}

TEST_CASE("cares resolver follows c-ares to queries without EDNS after a FORMERR") {
    asio::io_context ctx;
    test_server server(ctx, zone);
    server.refuse_edns = true;
    resolver_options options;
    options.servers = {{"127.0.0.1", server.port()}};
    options.timeout = 300ms;
    options.tries = 1;
    options.cache = false;
    auto r = make_cares_resolver(ctx.get_executor(), options);
    int answered = 0;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            // The first query is retried by c-ares itself; the ones after it must not carry EDNS.
            for (int i = 0; i < 3; ++i)
                answered += (co_await r->mx("example.test")).ok() ? 1 : 0;
            r->shutdown();
            server.stop();
        },
        asio::detached
    );
    ctx.run_for(10s);
    CHECK(answered == 3);
    CHECK(server.formerr_answers() <= 2);
}

TEST_CASE("cares resolver believes the AD bit only from resolvers on this host") {
    asio::io_context ctx;
    auto trusts = [&](std::vector<server_address> servers) {
        resolver_options o;
        o.servers = std::move(servers);
        return make_cares_resolver(ctx.get_executor(), o)->trusts_authenticated_data();
    };
    CHECK(trusts({{"127.0.0.1", 53}}));
    CHECK(trusts({{"127.0.0.53", 53}, {"::1", 5353}}));
    CHECK_FALSE(trusts({{"192.0.2.1", 53}}));  // a resolver across a network
    CHECK_FALSE(trusts({{"127.0.0.1", 53}, {"2001:db8::1", 53}}));
}

TEST_CASE("cares resolver caches answers but not failures") {
    with_resolver([](resolver& r, test_server& s) -> asio::awaitable<void> {
        using outpost::dns::detail::rr_type::mx;
        co_await r.mx("example.test");
        auto again = co_await r.mx("EXAMPLE.test");
        CHECK(again.ok());
        CHECK(again.records.size() == 2);
        CHECK(s.queries("example.test", mx) == 1);
        co_await r.mx("nowhere.test");
        co_await r.mx("nowhere.test");
        CHECK(s.queries("nowhere.test", mx) == 1);
        co_await r.mx("broken.test");
        co_await r.mx("broken.test");
        CHECK(s.queries("broken.test", mx) == 2);
    });
}

TEST_CASE("cares resolver without cache asks every time") {
    resolver_options o;
    o.cache = false;
    with_resolver(
        [](resolver& r, test_server& s) -> asio::awaitable<void> {
            co_await r.mx("example.test");
            co_await r.mx("example.test");
            CHECK(s.queries("example.test", outpost::dns::detail::rr_type::mx) == 2);
        },
        o
    );
}

TEST_CASE("cares resolver falls back to TCP when the UDP answer is truncated") {
    with_resolver(
        [](resolver& r, test_server& s) -> asio::awaitable<void> {
            auto mx = co_await r.mx("example.test");
            CHECK(mx.ok());
            CHECK(mx.records.size() == 2);
            CHECK(s.tcp_queries() >= 1);
        },
        {}, true
    );
}

TEST_CASE("cares resolver look-ups end when cancelled") {
    resolver_options o;
    o.timeout = 5000ms + 1ms;  // long: the cancellation must end the wait, not the timeout
    with_resolver(
        [](resolver& r, test_server&) -> asio::awaitable<void> {
            using namespace asio::experimental::awaitable_operators;
            asio::steady_timer t(co_await asio::this_coro::executor, 50ms);
            auto start = std::chrono::steady_clock::now();
            auto v = co_await (r.mx("silent.test") || t.async_wait(asio::use_awaitable));
            CHECK(v.index() == 1);
            CHECK(std::chrono::steady_clock::now() - start < 2s);
        },
        o
    );
}

TEST_CASE("cares resolver shutdown ends pending look-ups and fails later ones") {
    resolver_options o;
    o.timeout = 5000ms + 1ms;
    with_resolver(
        [](resolver& r, test_server&) -> asio::awaitable<void> {
            using namespace asio::experimental::awaitable_operators;
            asio::steady_timer t(co_await asio::this_coro::executor, 50ms);
            auto stop = [&]() -> asio::awaitable<void> {
                co_await t.async_wait(asio::use_awaitable);
                r.shutdown();
            };
            auto start = std::chrono::steady_clock::now();
            auto pending = co_await (r.mx("silent.test") && stop());
            CHECK(pending.result == status::error);
            CHECK(std::chrono::steady_clock::now() - start < 2s);
            CHECK((co_await r.mx("example.test")).result == status::error);
        },
        o
    );
}

TEST_CASE("cares resolver drives resolve_destination end to end") {
    with_resolver([](resolver& r, test_server&) -> asio::awaitable<void> {
        auto d = co_await resolve_destination(r, "example.test", make_random_index(1));
        REQUIRE(d.result == outcome::ok);
        REQUIRE(d.hosts.size() == 2);
        CHECK(d.hosts[0].host == "mx1.example.test");
        CHECK(d.hosts[1].host == "mx2.example.test");
        auto n = co_await resolve_destination(r, "null.test", make_random_index(1));
        CHECK(n.result == outcome::permanent);
        CHECK(n.enhanced == "5.1.10");
        auto x = co_await resolve_destination(r, "nowhere.test", make_random_index(1));
        CHECK(x.result == outcome::permanent);
        CHECK(x.enhanced == "5.1.2");
        auto b = co_await resolve_destination(r, "broken.test", make_random_index(1));
        CHECK(b.result == outcome::temporary);
        auto i = co_await resolve_destination(r, "nomx.test", make_random_index(1));
        REQUIRE(i.result == outcome::ok);
        CHECK(i.implicit);
        CHECK(i.hosts[0].addresses[0].to_string() == "127.0.0.4");
    });
}
