// to_targets: a resolved route becomes connection targets in order, on the delivery port.
#include "core/delivery/targets.hpp"

#include <doctest/doctest.h>

using namespace outpost;
using boost::asio::ip::make_address;

namespace {

dns::route_result two_hosts() {
    dns::route_result r;
    r.result = dns::outcome::ok;
    r.hosts = {
        {"mx1.example", 10, {make_address("192.0.2.1"), make_address("2001:db8::1")}},
        {"mx2.example", 20, {make_address("192.0.2.2")}}};
    return r;
}

}  // namespace

TEST_CASE("targets follow the route's hosts and addresses on the given port") {
    auto t = delivery::to_targets(two_hosts(), 2525);
    REQUIRE(t.size() == 3);
    CHECK(t[0].host == "mx1.example");
    CHECK(t[0].endpoint.address().to_string() == "192.0.2.1");
    CHECK(t[0].endpoint.port() == 2525);
    CHECK(t[1].endpoint.address().to_string() == "2001:db8::1");
    CHECK(t[2].host == "mx2.example");
}

TEST_CASE("targets are capped, and a failed route has none") {
    CHECK(delivery::to_targets(two_hosts(), 25, 2).size() == 2);
    auto failed = two_hosts();
    failed.result = dns::outcome::temporary;
    CHECK(delivery::to_targets(failed, 25).empty());
}
