// The MX plan (RFC 5321 §5.1, RFC 7505) with a fixed random source.
#include "core/dns/mx_plan.hpp"

#include <set>

#include <doctest/doctest.h>

using namespace outpost::dns;
using namespace std::chrono_literals;

namespace {

answer<mx_record> mx_answer(std::vector<mx_record> records) {
    return answer<mx_record>{status::ok, std::move(records), 300s};
}

std::vector<std::string> hosts(const mx_plan& p) {
    std::vector<std::string> out;
    for (const auto& h : p.hosts)
        out.push_back(h.host);
    return out;
}

// Always picks index 0: Fisher-Yates then rotates [a, b, c] into [b, c, a].
std::size_t first(std::size_t) {
    return 0;
}

// Always picks the last index: Fisher-Yates leaves the order as it is.
std::size_t last(std::size_t n) {
    return n - 1;
}

}  // namespace

TEST_CASE("MX hosts are tried in order of preference") {
    auto p = plan_mx(
        mx_answer({{30, "c.test"}, {10, "a.test"}, {20, "b.test"}}), "example.test",
        random_index(last)
    );
    CHECK(p.result == outcome::ok);
    CHECK_FALSE(p.implicit);
    CHECK(hosts(p) == std::vector<std::string>{"a.test", "b.test", "c.test"});
    CHECK(p.hosts[0].preference == 10);
}

TEST_CASE("MX hosts of equal preference are shuffled with the injected source") {
    auto answer = mx_answer({{20, "z.test"}, {10, "a.test"}, {10, "b.test"}, {10, "c.test"}});
    CHECK(
        hosts(plan_mx(answer, "d.test", random_index(last))) ==
        std::vector<std::string>{"a.test", "b.test", "c.test", "z.test"}
    );
    CHECK(
        hosts(plan_mx(answer, "d.test", random_index(first))) ==
        std::vector<std::string>{"b.test", "c.test", "a.test", "z.test"}
    );

    // With a real source every order shows up, and the preference-20 host always comes last.
    auto pick = make_random_index(7);
    std::set<std::vector<std::string>> orders;
    for (int i = 0; i < 200; ++i) {
        auto h = hosts(plan_mx(answer, "d.test", pick));
        CHECK(h.back() == "z.test");
        orders.insert(h);
    }
    CHECK(orders.size() == 6);
}

TEST_CASE("a host listed twice is tried once, at its best preference") {
    auto p = plan_mx(
        mx_answer({{20, "a.test"}, {10, "a.test"}, {15, "b.test"}}), "d.test", random_index(last)
    );
    CHECK(hosts(p) == std::vector<std::string>{"a.test", "b.test"});
}

TEST_CASE("no MX records means the domain itself (implicit MX)") {
    auto p =
        plan_mx(answer<mx_record>{status::nodata, {}, 60s}, "example.test", random_index(last));
    CHECK(p.result == outcome::ok);
    CHECK(p.implicit);
    REQUIRE(p.hosts.size() == 1);
    CHECK(p.hosts[0].host == "example.test");
    CHECK(p.hosts[0].preference == 0);
    CHECK(plan_mx(mx_answer({}), "example.test", random_index(last)).implicit);
}

TEST_CASE("a null MX is a permanent failure, 5.1.10 (RFC 7505)") {
    auto p = plan_mx(mx_answer({{0, ""}}), "nomail.test", random_index(last));
    CHECK(p.result == outcome::permanent);
    CHECK(p.enhanced == "5.1.10");
    CHECK(p.text.find("nomail.test does not accept mail") != std::string::npos);
    CHECK(p.hosts.empty());
}

TEST_CASE("a null MX next to real MX records is ignored") {
    auto p = plan_mx(mx_answer({{0, ""}, {10, "mx.test"}}), "d.test", random_index(last));
    CHECK(p.result == outcome::ok);
    CHECK(hosts(p) == std::vector<std::string>{"mx.test"});
}

TEST_CASE("NXDOMAIN is a permanent failure, 5.1.2") {
    auto p = plan_mx(answer<mx_record>{status::nxdomain, {}, 60s}, "gone.test", random_index(last));
    CHECK(p.result == outcome::permanent);
    CHECK(p.enhanced == "5.1.2");
    CHECK(p.text.find("gone.test") != std::string::npos);
}

TEST_CASE("SERVFAIL, timeouts and errors are temporary, 4.4.3") {
    for (auto s : {status::servfail, status::timeout, status::error}) {
        auto p = plan_mx(answer<mx_record>{s, {}, 0s}, "d.test", random_index(last));
        CHECK(p.result == outcome::temporary);
        CHECK(p.enhanced == "4.4.3");
        CHECK(p.text.find(to_string(s)) != std::string::npos);
    }
}

TEST_CASE("a misbehaving random source cannot index out of range") {
    auto p = plan_mx(
        mx_answer({{10, "a.test"}, {10, "b.test"}}), "d.test",
        random_index([](std::size_t) { return std::size_t{99}; })
    );
    CHECK(p.hosts.size() == 2);
}
