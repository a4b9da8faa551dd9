#include "core/util/metrics.hpp"

#include <doctest/doctest.h>

using namespace outpost::util;

TEST_CASE("a histogram counts each observation in the first bucket whose bound holds it") {
    histogram h{0.01, 0.1, 1};
    h.observe(0.005);
    h.observe(0.01);  // bounds are inclusive (le)
    h.observe(0.5);
    h.observe(7);
    auto s = h.read();
    CHECK(s.bounds == std::vector<double>{0.01, 0.1, 1});
    CHECK(s.cumulative == std::vector<std::uint64_t>{2, 2, 3});
    CHECK(s.count == 4);
    CHECK(s.sum == doctest::Approx(7.515));
}

TEST_CASE("provider outcomes are counted per provider") {
    provider_outcomes p;
    p.add("google", provider_outcomes::outcome::delivered);
    p.add("google", provider_outcomes::outcome::delivered);
    p.add("default", provider_outcomes::outcome::bounced);
    auto r = p.read();
    CHECK(r["google"] == std::array<std::uint64_t, 3>{2, 0, 0});
    CHECK(r["default"] == std::array<std::uint64_t, 3>{0, 0, 1});
}
