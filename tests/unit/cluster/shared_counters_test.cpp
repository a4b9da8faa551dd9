// The warming counters' Redis hash read back, and how much a node reserves at once.
#include "core/cluster/shared_counters.hpp"

#include <doctest/doctest.h>

using namespace outpost;
using namespace outpost::cluster;

TEST_CASE("a warming hash reads back as counts by day; junk fields are skipped") {
    auto d = *shaping::parse_date("2026-12-07");
    CHECK(warming_key("t:", "203.0.113.10", "google") == "t:warm:203.0.113.10|google");
    CHECK(warming_field(d, "sent") == "2026-12-07:sent");
    auto counts = parse_warming_hash(
        {"2026-12-07:sent", "10", "2026-12-07:reserved", "3", "2026-12-07:bounced", "2",
         "2026-12-06:deferred", "4", "2026-12-06:complaints", "1", "nonsense", "1",
         "2026-13-01:sent", "5", "2026-12-05:sent", "-1", "2026-12-05:sent", "x"}
    );
    REQUIRE(counts.size() == 2);
    CHECK(counts[d] == shaping::daily_counts{10, 0, 2, 0});
    CHECK(counts[*shaping::parse_date("2026-12-06")] == shaping::daily_counts{0, 4, 0, 1});
}

TEST_CASE("a reservation is a share of what is left: at least 1, at most 20") {
    CHECK(reservation_batch(10, 0, 2) == 1);
    CHECK(reservation_batch(1000, 0, 2) == 20);
    CHECK(reservation_batch(100, 20, 2) == 10);
    CHECK(reservation_batch(100, 20, 0) == 20);
    CHECK(reservation_batch(10, 10, 2) == 1);
    CHECK(reservation_batch(10, 12, 2) == 1);
}
