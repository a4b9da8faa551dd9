// GCRA with several permits at once: the burst after a quiet spell, the pace after it, and the
// bound over any window.
#include "core/shaping/gcra.hpp"

#include <doctest/doctest.h>

using outpost::shaping::gcra;

TEST_CASE("a quiet key grants its burst at once, then one permit per interval") {
    auto t = gcra(0, 1'000'000, 1'000'000, 2, 5);  // 60/min, burst 2
    CHECK(t.granted == 2);
    CHECK(t.tat == 3'000'000);
    CHECK(t.wait == 1'000'000);  // the next permit is one interval away
    auto again = gcra(t.tat, 1'000'000, 1'000'000, 2, 1);
    CHECK(again.granted == 0);
    CHECK(again.wait == 1'000'000);
    auto later = gcra(t.tat, 2'000'000, 1'000'000, 2, 3);
    CHECK(later.granted == 1);
    CHECK(later.tat == 4'000'000);
    CHECK(later.wait == 1'000'000);
    auto all = gcra(0, 0, 1000, 10, 4);
    CHECK(all.granted == 4);
    CHECK(all.wait == 0);
}

TEST_CASE("over any window no more than burst + window / interval permits") {
    // Callers asking every 130 ms for 3 permits, at 10/s with a burst of 2, for 10 s.
    std::int64_t tat = 0, granted = 0;
    for (std::int64_t now = 0; now <= 10'000'000; now += 130'000) {
        auto t = gcra(tat, now, 100'000, 2, 3);
        tat = t.tat;
        granted += static_cast<std::int64_t>(t.granted);
    }
    CHECK(granted <= 2 + 100);
    // Demand exceeds the rate throughout, so nothing is lost either: the last ask is at 9.88 s,
    // when the burst and 98 intervals have come due.
    CHECK(granted >= 2 + 95);
}

TEST_CASE("degenerate settings are clamped, not divided by") {
    auto t = gcra(0, 5, 0, 0, 3);
    CHECK(t.granted == 1);
    CHECK(t.wait == 1);
}
