// resolve_destination over a fake resolver: MX order, addresses, and every failure rule.
#include "core/dns/destination.hpp"

#include <doctest/doctest.h>

#include "tests/unit/dns/fake_resolver.hpp"

using namespace outpost::dns;
using namespace outpost::dns::test;
using namespace std::chrono_literals;
using boost::asio::ip::make_address;

namespace {

answer<boost::asio::ip::address> addresses(std::vector<std::string> ips) {
    answer<boost::asio::ip::address> a{status::ok, {}, 300s};
    for (const auto& ip : ips)
        a.records.push_back(make_address(ip));
    return a;
}

answer<boost::asio::ip::address> failed(status s) {
    return answer<boost::asio::ip::address>{s, {}, 0s};
}

random_index keep_order() {
    return [](std::size_t n) { return n - 1; };
}

std::vector<std::string> flat(const route_result& r) {
    std::vector<std::string> out;
    for (const auto& h : r.hosts)
        for (const auto& ip : h.addresses)
            out.push_back(h.host + " " + ip.to_string());
    return out;
}

}  // namespace

TEST_CASE("destination lists MX hosts in order with IPv4 first by default") {
    fake_resolver r;
    r.mx_answers["d.test"] = {status::ok, {{20, "mx2.d.test"}, {10, "mx1.d.test"}}, 300s};
    r.address_answers["mx1.d.test"] = addresses({"2001:db8::1", "192.0.2.1"});
    r.address_answers["mx2.d.test"] = addresses({"192.0.2.2"});
    auto out = run(resolve_destination(r, "d.test", keep_order()));
    CHECK(out.result == outcome::ok);
    CHECK_FALSE(out.implicit);
    CHECK(
        flat(out) ==
        std::vector<std::string>{
            "mx1.d.test 192.0.2.1", "mx1.d.test 2001:db8::1", "mx2.d.test 192.0.2.2"}
    );
    CHECK(out.hosts[0].preference == 10);

    auto v6 = run(resolve_destination(r, "d.test", keep_order(), route_options{true, 10}));
    CHECK(flat(v6)[0] == "mx1.d.test 2001:db8::1");
}

TEST_CASE("destination skips an MX host without addresses") {
    fake_resolver r;
    r.mx_answers["d.test"] = {status::ok, {{10, "broken.d.test"}, {20, "mx2.d.test"}}, 300s};
    r.address_answers["broken.d.test"] = failed(status::servfail);
    r.address_answers["mx2.d.test"] = addresses({"192.0.2.2"});
    auto out = run(resolve_destination(r, "d.test", keep_order()));
    CHECK(out.result == outcome::ok);
    CHECK(flat(out) == std::vector<std::string>{"mx2.d.test 192.0.2.2"});
}

TEST_CASE("destination drops an address already listed under a better host") {
    fake_resolver r;
    r.mx_answers["d.test"] = {
        status::ok, {{10, "a.d.test"}, {20, "b.d.test"}, {30, "c.d.test"}}, 300s};
    r.address_answers["a.d.test"] = addresses({"192.0.2.1"});
    r.address_answers["b.d.test"] = addresses({"192.0.2.1"});
    r.address_answers["c.d.test"] = addresses({"192.0.2.1", "192.0.2.3"});
    auto out = run(resolve_destination(r, "d.test", keep_order()));
    CHECK(flat(out) == std::vector<std::string>{"a.d.test 192.0.2.1", "c.d.test 192.0.2.3"});
}

TEST_CASE("destination uses the domain's own addresses when there is no MX") {
    fake_resolver r;
    r.mx_answers["d.test"] = {status::nodata, {}, 60s};
    r.address_answers["d.test"] = addresses({"192.0.2.7"});
    auto out = run(resolve_destination(r, "d.test", keep_order()));
    CHECK(out.result == outcome::ok);
    CHECK(out.implicit);
    CHECK(flat(out) == std::vector<std::string>{"d.test 192.0.2.7"});
}

TEST_CASE("no MX and no address is permanent 5.1.2; a DNS failure there is temporary") {
    fake_resolver r;
    r.mx_answers["d.test"] = {status::nodata, {}, 60s};
    r.address_answers["d.test"] = failed(status::nodata);
    auto out = run(resolve_destination(r, "d.test", keep_order()));
    CHECK(out.result == outcome::permanent);
    CHECK(out.enhanced == "5.1.2");
    r.address_answers["d.test"] = failed(status::timeout);
    out = run(resolve_destination(r, "d.test", keep_order()));
    CHECK(out.result == outcome::temporary);
    CHECK(out.enhanced == "4.4.3");
}

TEST_CASE("null MX, NXDOMAIN and SERVFAIL stop before any address look-up") {
    fake_resolver r;
    r.mx_answers["null.test"] = {status::ok, {{0, ""}}, 300s};
    r.mx_answers["fail.test"] = {status::servfail, {}, 0s};
    auto null_mx = run(resolve_destination(r, "null.test", keep_order()));
    CHECK(null_mx.result == outcome::permanent);
    CHECK(null_mx.enhanced == "5.1.10");
    auto gone = run(resolve_destination(r, "gone.test", keep_order()));
    CHECK(gone.result == outcome::permanent);
    CHECK(gone.enhanced == "5.1.2");
    auto fail = run(resolve_destination(r, "fail.test", keep_order()));
    CHECK(fail.result == outcome::temporary);
    CHECK(fail.enhanced == "4.4.3");
    CHECK(r.asked == std::vector<std::string>{"MX null.test", "MX gone.test", "MX fail.test"});
}

TEST_CASE("all MX hosts unresolvable is temporary") {
    fake_resolver r;
    r.mx_answers["d.test"] = {status::ok, {{10, "a.d.test"}, {20, "b.d.test"}}, 300s};
    SUBCASE("names that do not exist: 4.4.4") {
        auto out = run(resolve_destination(r, "d.test", keep_order()));
        CHECK(out.result == outcome::temporary);
        CHECK(out.enhanced == "4.4.4");
        CHECK(out.hosts.empty());
    }
    SUBCASE("one DNS failure among them: 4.4.3") {
        r.address_answers["b.d.test"] = failed(status::timeout);
        auto out = run(resolve_destination(r, "d.test", keep_order()));
        CHECK(out.result == outcome::temporary);
        CHECK(out.enhanced == "4.4.3");
    }
}

TEST_CASE("only the first max_hosts MX hosts are looked up") {
    fake_resolver r;
    r.mx_answers["d.test"] = {
        status::ok, {{10, "a.d.test"}, {20, "b.d.test"}, {30, "c.d.test"}}, 300s};
    r.address_answers["c.d.test"] = addresses({"192.0.2.3"});
    auto out = run(resolve_destination(r, "d.test", keep_order(), route_options{false, 2}));
    CHECK(out.result == outcome::temporary);
    CHECK(r.asked == std::vector<std::string>{"MX d.test", "ADDRESS a.d.test", "ADDRESS b.d.test"});
}

TEST_CASE("a host is DNSSEC-secure only when its MX answer and its addresses both are") {
    fake_resolver r;
    r.mx_answers["d.test"] = {status::ok, {{10, "mx1.d.test"}, {20, "mx2.d.test"}}, 300s, true};
    r.address_answers["mx1.d.test"] = addresses({"192.0.2.1"});
    r.address_answers["mx1.d.test"].authenticated = true;
    r.address_answers["mx2.d.test"] = addresses({"192.0.2.2"});  // an unsigned zone
    auto out = run(resolve_destination(r, "d.test", keep_order()));
    REQUIRE(out.hosts.size() == 2);
    CHECK(out.hosts[0].authenticated);
    CHECK_FALSE(out.hosts[1].authenticated);

    // An insecure MX answer makes its hosts insecure, whatever their own zone says.
    r.mx_answers["d.test"].authenticated = false;
    auto insecure = run(resolve_destination(r, "d.test", keep_order()));
    CHECK_FALSE(insecure.hosts[0].authenticated);
}
