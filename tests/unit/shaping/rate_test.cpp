#include "core/shaping/rate.hpp"

#include <doctest/doctest.h>

#include "core/shaping/adaptive.hpp"

using namespace outpost::shaping;
using namespace std::chrono_literals;

namespace {
const steady_time t0{std::chrono::hours(1000)};
}  // namespace

TEST_CASE("rates parse in every documented unit") {
    CHECK(parse_rate("60/min")->count == 60);
    CHECK(parse_rate("60/min")->period == 60s);
    CHECK(parse_rate("5/s")->period == 1s);
    CHECK(parse_rate("1000/h")->period == 3600s);
    CHECK(parse_rate("1000/hour")->per_second() == doctest::Approx(1000.0 / 3600));
    CHECK(parse_rate("20000/day")->period == 86400s);
    CHECK(parse_rate(" 10 / MIN ")->count == 10);
    CHECK(parse_rate("7/second")->text() == "7/s");
    CHECK(parse_rate("60/minute")->text() == "60/min");
}

TEST_CASE("malformed rates are refused") {
    for (auto bad :
         {"", "60", "/min", "60/", "0/min", "-1/min", "1.5/s", "60/fortnight", "x/s",
          "9999999999999/s"})
        CHECK_MESSAGE(!parse_rate(bad), bad);
}

TEST_CASE("a token bucket with burst 1 spaces sends by the rate") {
    token_bucket b(1.0, 1, t0);  // 60/min
    CHECK(b.try_take(t0));
    CHECK_FALSE(b.try_take(t0));
    CHECK_FALSE(b.try_take(t0 + 999ms));
    CHECK(b.wait_for(t0 + 999ms) > 999us);
    CHECK(b.wait_for(t0 + 999ms) < 1001us);
    CHECK(b.try_take(t0 + 1s));
    CHECK_FALSE(b.try_take(t0 + 1500ms));
    CHECK(b.try_take(t0 + 2s));
}

TEST_CASE("a token bucket allows its burst, then refills no higher than it") {
    token_bucket b(2.0, 5, t0);
    for (int i = 0; i < 5; ++i)
        CHECK(b.try_take(t0));
    CHECK_FALSE(b.try_take(t0));
    CHECK(b.available(t0 + 1h) == doctest::Approx(5));
    CHECK(b.wait_for(t0, 1) > 499ms);
    CHECK(b.wait_for(t0, 1) < 501ms);
}

TEST_CASE("sixty sends a minute over thirty sends take twenty-nine seconds at least") {
    token_bucket b(parse_rate("60/min")->per_second(), 1, t0);
    auto now = t0;
    int sent = 0;
    while (sent < 30) {
        if (b.try_take(now))
            ++sent;
        else
            now += b.wait_for(now);
    }
    CHECK(now - t0 >= 29s);
    CHECK(now - t0 < 30s);
}

TEST_CASE("a token bucket's rate can be cut and restored") {
    token_bucket b(10.0, 1, t0);
    CHECK(b.try_take(t0));
    b.set_rate(1.0, t0);
    CHECK_FALSE(b.try_take(t0 + 500ms));
    CHECK(b.try_take(t0 + 1s));
    b.set_rate(0, t0 + 1s);
    CHECK(b.wait_for(t0 + 2s) == std::chrono::nanoseconds::max());
}

TEST_CASE("a slow-down suspends and halves the rate, and recovery is additive") {
    adaptive_rate a;
    CHECK(a.fraction(t0) == 1);
    CHECK_FALSE(a.suspended(t0));
    auto c = a.on_slow_down(t0);
    CHECK(c.applied);
    CHECK(c.suspension == 1min);
    CHECK(c.fraction == doctest::Approx(0.5));
    CHECK(a.suspended(t0 + 59s));
    CHECK_FALSE(a.suspended(t0 + 60s));
    CHECK(a.fraction(t0 + 30s) == doctest::Approx(0.5));
    // 5% of the configured rate per minute after the suspension ends.
    CHECK(a.fraction(t0 + 1min + 2min) == doctest::Approx(0.6));
    CHECK(a.fraction(t0 + 1min + 10min) == doctest::Approx(1.0));
    CHECK(a.fraction(t0 + 10h) == doctest::Approx(1.0));
}

TEST_CASE("repeated slow-downs grow the suspension up to the maximum, then start over") {
    adaptive_rate a;
    auto now = t0;
    std::chrono::seconds expect[] = {1min, 2min, 4min, 8min, 16min, 32min, 1h, 1h};
    for (auto want : expect) {
        auto c = a.on_slow_down(now);
        CHECK(c.suspension == want);
        now = c.until + 10s;
    }
    CHECK(a.fraction(now) >= a.options().min_fraction);
    CHECK(a.fraction(now) < 0.1);
    // A quiet spell longer than the repeat window: the next one starts from the beginning.
    now += 2h;
    CHECK(a.on_slow_down(now).suspension == 1min);
    CHECK(a.repeats() == 0);
}

TEST_CASE("slow-downs during a suspension change nothing") {
    adaptive_rate a;
    a.on_slow_down(t0);
    auto c = a.on_slow_down(t0 + 10s);
    CHECK_FALSE(c.applied);
    CHECK(a.fraction(t0 + 10s) == doctest::Approx(0.5));
    CHECK(a.suspended_until() == t0 + 1min);
}

TEST_CASE("reset restores the configured rate and forgets repeats") {
    adaptive_rate a;
    a.on_slow_down(t0);
    a.on_slow_down(t0 + 2min);
    CHECK(a.repeats() == 1);
    a.reset();
    CHECK(a.fraction(t0 + 2min) == 1);
    CHECK_FALSE(a.suspended(t0 + 2min));
    CHECK(a.on_slow_down(t0 + 3min).suspension == 1min);
}
