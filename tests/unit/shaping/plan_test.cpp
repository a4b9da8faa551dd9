#include "core/shaping/plan.hpp"

#include <doctest/doctest.h>

#include "tests/support/config_text.hpp"

using namespace outpost::shaping;

namespace {

using outpost::test::config_from;

const char* two_ips = R"(
[[provider]]
name = "google"
mx = ["*.google.com"]

[[source_ip]]
address = "203.0.113.10"
warming = "standard"
warming_start = "2026-11-20"

[[source_ip]]
address = "203.0.113.11"
warming = "standard"
warming_start = "2026-11-21"

[warming.standard]
daily = [100, 1000, 5000]

[warming.standard.provider.google]
daily = [50, 100, 500, 2000]
)";

const provider_day& of(const plan_day& d, const std::string& name) {
    for (const auto& p : d.providers)
        if (p.provider == name)
            return p;
    FAIL("no provider " << name);
    throw 0;
}

}  // namespace

TEST_CASE("the plan sums the caps of the warming IPs per provider and day") {
    auto c = config_from(two_ips);
    auto p = simulate(c, {4000, 6, std::nullopt, {}});
    REQUIRE(p.days.size() == 6);
    CHECK(date_text(p.start) == "2026-11-20");
    CHECK(p.demand.at("google") == 2000);
    CHECK(p.demand.at("default") == 2000);
    // Day 1: only the first IP has started.
    CHECK(of(p.days[0], "google").cap == 50u);
    CHECK(of(p.days[0], "default").cap == 100u);
    CHECK(of(p.days[0], "google").overflow == 1950);
    CHECK(p.days[0].overflow == 1950 + 1900);
    // Day 2: 100 + 50 for google, 1000 + 100 for the rest.
    CHECK(of(p.days[1], "google").cap == 150u);
    CHECK(of(p.days[1], "default").cap == 1100u);
    // Day 4: default has ended its list for the first IP: unlimited.
    CHECK(of(p.days[3], "default").cap == std::nullopt);
    CHECK(of(p.days[3], "default").overflow == 0);
    CHECK(of(p.days[3], "google").cap == 2500u);  // 2000 + 500
    CHECK(of(p.days[3], "google").overflow == 0);
    CHECK(p.days[2].overflow > 0);
    CHECK(p.full_volume_day == 4u);
}

TEST_CASE("shares split the volume, and the rest goes evenly") {
    auto c = config_from(two_ips);
    simulation_options o{1000, 2, std::nullopt, {{"google", 0.7}}};
    CHECK_FALSE(plan_error(c, o));
    auto p = simulate(c, o);
    CHECK(p.demand.at("google") == 700);
    CHECK(p.demand.at("default") == 300);
    o.share = {{"yahoo", 0.1}};
    CHECK(plan_error(c, o)->find("yahoo") != std::string::npos);
    o.share = {{"google", 0.7}, {"default", 0.5}};
    CHECK(plan_error(c, o)->find("120%") != std::string::npos);
}

TEST_CASE("full volume may lie beyond the listed days, or never come under a low ceiling") {
    auto c = config_from(two_ips);
    auto p = simulate(c, {4000, 1, std::nullopt, {}});
    CHECK(p.days.size() == 1);
    CHECK(p.full_volume_day == 4u);
    c.warming.at("standard").ceiling = 900;
    auto capped = simulate(c, {4000, 10, std::nullopt, {}});
    CHECK_FALSE(capped.full_volume_day);
    CHECK(of(capped.days[9], "default").cap == 1800u);
}

TEST_CASE("a config without warming IPs cannot be simulated") {
    auto c = config_from("");
    CHECK(plan_error(c, {1000, 5, std::nullopt, {}})->find("warming") != std::string::npos);
}

TEST_CASE("an override that ends in a cliff is warned about, a gentle one is not") {
    // two_ips: google's override [50, 100, 500, 2000] ends, and without a ceiling it is
    // unlimited from day 5: a warning, once for the two IPs that share the schedule.
    auto p = simulate(config_from(two_ips), {1000, 3, std::nullopt, {}});
    REQUIRE(p.warnings.size() == 1);
    CHECK(
        p.warnings[0] ==
        "warming.standard: the override for google ends after day 4 (cap 2000); from day 5 google "
        "is unlimited (no ceiling)"
    );

    schedule s;
    s.daily = {100, 200, 400, 800, 1600};
    s.ceiling = 3000;
    s.provider["google"] = {50, 100};                  // 100 -> 3000: ×30
    s.provider["yahoo"] = {100, 200, 400, 800, 1600};  // 1600 -> 3000: under ×2
    auto w = override_warnings("custom", s);
    REQUIRE(w.size() == 1);
    CHECK(
        w[0] ==
        "warming.custom: the override for google ends after day 2 (cap 100); from day 3 google may "
        "send 3000 (the ceiling), 30× as much, while the general list goes on to day 5"
    );
}
