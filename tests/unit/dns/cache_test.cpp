// The answer cache with an injected clock: TTLs, caps, negative answers, eviction.
#include "core/dns/detail/cache.hpp"

#include <doctest/doctest.h>

using namespace outpost::dns;
using namespace outpost::dns::detail;
using namespace std::chrono_literals;

namespace {

using time_point = answer_cache<int>::time_point;

const time_point t0{std::chrono::hours(1000)};

answer<int> positive(std::chrono::seconds ttl, int value = 1) {
    return answer<int>{status::ok, {value}, ttl};
}

answer<int> negative(status s, std::chrono::seconds ttl) {
    return answer<int>{s, {}, ttl};
}

}  // namespace

TEST_CASE("cache keeps a positive answer for its TTL and counts the TTL down") {
    answer_cache<int> c;
    c.put("example.test", positive(300s, 7), t0);
    auto hit = c.get("example.test", t0 + 100s);
    REQUIRE(hit);
    CHECK(hit->records == std::vector<int>{7});
    CHECK(hit->ttl == 200s);
    CHECK(c.get("example.test", t0 + 299s + 500ms)->ttl == 1s);  // rounded up, never 0
    CHECK_FALSE(c.get("example.test", t0 + 300s));
    CHECK_FALSE(c.get("other.test", t0));
}

TEST_CASE("cache caps TTLs: one day for answers, one hour for negatives") {
    answer_cache<int> c;
    c.put("long.test", positive(std::chrono::hours(24 * 30)), t0);
    CHECK(c.get("long.test", t0 + 86399s));
    CHECK_FALSE(c.get("long.test", t0 + 86400s));
    c.put("gone.test", negative(status::nxdomain, 86400s), t0);
    CHECK(c.get("gone.test", t0 + 3599s)->result == status::nxdomain);
    CHECK_FALSE(c.get("gone.test", t0 + 3600s));
}

TEST_CASE("cache keeps NXDOMAIN and NODATA with a TTL, never temporary failures") {
    answer_cache<int> c;
    c.put("nx.test", negative(status::nxdomain, 60s), t0);
    c.put("nodata.test", negative(status::nodata, 60s), t0);
    c.put("nosoa.test", negative(status::nodata, 0s), t0);
    c.put("fail.test", negative(status::servfail, 60s), t0);
    c.put("slow.test", negative(status::timeout, 60s), t0);
    c.put("err.test", negative(status::error, 60s), t0);
    c.put("zero.test", positive(0s), t0);
    CHECK(c.get("nx.test", t0)->result == status::nxdomain);
    CHECK(c.get("nodata.test", t0)->result == status::nodata);
    CHECK_FALSE(c.get("nosoa.test", t0));
    CHECK_FALSE(c.get("fail.test", t0));
    CHECK_FALSE(c.get("slow.test", t0));
    CHECK_FALSE(c.get("err.test", t0));
    CHECK_FALSE(c.get("zero.test", t0));
    CHECK(c.size() == 2);
}

TEST_CASE("cache replaces an entry stored again") {
    answer_cache<int> c;
    c.put("a.test", positive(10s, 1), t0);
    c.put("a.test", positive(100s, 2), t0 + 5s);
    CHECK(c.size() == 1);
    CHECK(c.get("a.test", t0 + 50s)->records == std::vector<int>{2});
    c.purge(t0 + 104s);
    CHECK(c.size() == 1);
    c.purge(t0 + 105s);
    CHECK(c.size() == 0);
}

TEST_CASE("a full cache drops expired entries first, then the one closest to expiry") {
    answer_cache<int> c(cache_limits{3, 86400s, 3600s});
    c.put("a", positive(10s), t0);
    c.put("b", positive(100s), t0);
    c.put("c", positive(50s), t0);
    c.put("d", positive(200s), t0 + 20s);  // "a" has expired: it goes
    CHECK(c.size() == 3);
    CHECK_FALSE(c.get("a", t0 + 20s));
    c.put("e", positive(200s), t0 + 20s);  // full, nothing expired: "c" expires first
    CHECK(c.size() == 3);
    CHECK_FALSE(c.get("c", t0 + 20s));
    CHECK(c.get("b", t0 + 20s));
    CHECK(c.get("d", t0 + 20s));
    CHECK(c.get("e", t0 + 20s));
}
