#include "core/shaping/pool.hpp"

#include <doctest/doctest.h>

#include "core/shaping/throttle.hpp"
#include "tests/support/config_text.hpp"

using namespace outpost::shaping;
using namespace std::chrono_literals;

namespace {

using outpost::test::config_from;

wall_time at(const char* date, std::chrono::seconds since_midnight_utc) {
    return wall_time{parse_date(date)->time_since_epoch()} + since_midnight_utc;
}

const char* pool_config = R"(
[[provider]]
name = "google"
mx = ["*.google.com"]
rate = "60/min"

[[throttle]]
domain = "orange.fr"
rate = "2/s"
max_connections = 1

[[source_ip]]
address = "127.0.0.2"
warming = "five"
warming_start = "2026-11-20"

[[source_ip]]
address = "127.0.0.3"
warming = "three"
warming_start = "2026-11-20"

[warming.five]
daily = [5, 10]
pace = false

[warming.three]
daily = [3, 6]
pace = false
)";

}  // namespace

TEST_CASE("the pool fills the first IP's cap, then the second's, then defers with a reason") {
    auto c = config_from(pool_config);
    memory_counter_store store;
    source_pool pool(c, store);
    auto now = at("2026-11-20", 10h);
    std::vector<std::size_t> used;
    for (int i = 0; i < 8; ++i) {
        auto ch = pool.acquire("default", now);
        REQUIRE(ch.source);
        used.push_back(*ch.source);
    }
    CHECK(std::count(used.begin(), used.end(), 0u) == 5);
    CHECK(std::count(used.begin(), used.end(), 1u) == 3);
    auto wait = pool.acquire("default", now);
    CHECK_FALSE(wait.source);
    CHECK(wait.next == at("2026-11-21", 0s));
    CHECK(
        wait.reason.find("warming cap of 127.0.0.2 × default reached (5 of 5 today)") !=
        std::string::npos
    );
    // Another provider has its own counters.
    CHECK(pool.acquire("google", now).source == 0u);
    // The next day releases the next step's caps.
    CHECK(pool.acquire("default", at("2026-11-21", 0s)).source == 0u);
    CHECK(store.get({"127.0.0.2", "default", *parse_date("2026-11-20")}).sent == 5);
}

TEST_CASE("caps hold for a new pool over the same store (a restart)") {
    auto c = config_from(pool_config);
    memory_counter_store store;
    auto now = at("2026-11-20", 10h);
    {
        source_pool pool(c, store);
        for (int i = 0; i < 8; ++i)
            CHECK(pool.acquire("default", now).source);
    }
    source_pool again(c, store);
    CHECK_FALSE(again.acquire("default", now + 1h).source);
}

TEST_CASE("an unhealthy day holds the next day's cap") {
    auto c = config_from(pool_config);
    memory_counter_store store;
    source_pool pool(c, store);
    auto day1 = at("2026-11-20", 10h);
    for (int i = 0; i < 5; ++i)
        pool.acquire("default", day1);
    pool.record(0, "default", day1, {0, 0, 2, 0});  // 40% bounced
    auto r = pool.status(0, "default", at("2026-11-21", 1h));
    REQUIRE(r);
    CHECK(r->where.last == gate::held);
    CHECK(r->cap == 5u);
    CHECK(r->where.reason.find("bounce rate 40.0%") != std::string::npos);
    CHECK(pool.status(1, "default", at("2026-11-21", 1h))->cap == 6u);
}

TEST_CASE("overflow IPs take the surplus only; plain warm IPs come before them") {
    auto c = config_from(std::string(pool_config) + R"(
[[source_ip]]
address = "127.0.0.9"
)");
    c.warming.at("five").overflow = {"127.0.0.9"};
    memory_counter_store store;
    source_pool pool(c, store);
    auto now = at("2026-11-20", 10h);
    for (int i = 0; i < 8; ++i)
        CHECK(!pool.acquire("default", now).overflow);
    auto ch = pool.acquire("default", now);
    CHECK(ch.source == 2u);
    CHECK(ch.overflow);
}

TEST_CASE("before the start date the pool waits until it") {
    auto c = config_from(pool_config);
    memory_counter_store store;
    source_pool pool(c, store);
    auto ch = pool.acquire("default", at("2026-11-19", 10h));
    CHECK_FALSE(ch.source);
    CHECK(ch.next == at("2026-11-20", 0s));
    CHECK(ch.reason.find("starts warming on 2026-11-20") != std::string::npos);
    CHECK(source_pool(config_from(""), store).empty());
}

TEST_CASE("throttle keys: a domain throttle, then the provider, then the domain itself") {
    auto c = config_from(pool_config);
    auto t = throttles::from(c);
    CHECK(t.key("Orange.FR", "default") == "domain:orange.fr");
    CHECK(t.key("example.com", "google") == "provider:google");
    CHECK(t.key("example.com", "default") == "domain:example.com");
    CHECK(t.limits_for("domain:orange.fr").max_connections == 1);
    CHECK(t.limits_for("provider:google").pace->count == 60);
    CHECK_FALSE(t.limits_for("domain:example.com").pace);
    // domain = "*" gives every other domain its limits, each with its own bucket.
    auto d =
        config_from(std::string(pool_config) + "[[throttle]]\ndomain = \"*\"\nrate = \"1/min\"\n");
    auto u = throttles::from(d);
    CHECK(u.limits_for("domain:a.example").pace->count == 1);
    steady_time t0{std::chrono::hours(100)};
    CHECK(u.take("domain:a.example", t0));
    CHECK(u.take("domain:a.example", t0));
    CHECK_FALSE(u.take("domain:a.example", t0));
    CHECK(u.take("domain:b.example", t0));
    CHECK(
        u.keys() ==
        std::vector<std::string>{
            "default", "domain:a.example", "domain:b.example", "domain:orange.fr",
            "provider:google"}
    );
}

TEST_CASE("a throttle paces by its rate and backs off on a slow-down reply") {
    auto c = config_from(pool_config);
    auto t = throttles::from(c);
    steady_time t0{std::chrono::hours(100)};
    // The bucket holds two tokens at 60/min (one second's worth, at least two).
    CHECK(t.take("provider:google", t0));
    CHECK(t.take("provider:google", t0));
    auto v = t.check("provider:google", t0);
    CHECK_FALSE(v.may_send);
    CHECK(v.not_before == t0 + 1s);
    CHECK(v.reason.find("rate 60/min") != std::string::npos);
    CHECK(t.take("provider:google", t0 + 1s));
    // A normal reply changes nothing; a 421 suspends the key, not the others.
    CHECK_FALSE(t.on_reply("provider:google", {451, "4.3.0", "local problem"}, t0 + 1s));
    auto change = t.on_reply("provider:google", {421, "4.7.0", "try later"}, t0 + 1s);
    REQUIRE(change);
    CHECK(change->change.suspension == 1min);
    CHECK(change->rule);
    auto s = t.check("provider:google", t0 + 30s);
    CHECK_FALSE(s.may_send);
    CHECK(s.reason == "suspended after \"421 4.7.0\"");
    CHECK(s.not_before == t0 + 61s);
    CHECK(t.check("domain:example.com", t0 + 30s).may_send);
    CHECK(t.take("domain:orange.fr", t0 + 30s));
    // After the suspension: half the rate, one every two seconds (after the tokens kept).
    while (t.take("provider:google", t0 + 61s)) {
    }
    CHECK_FALSE(t.take("provider:google", t0 + 62s));
    CHECK(t.take("provider:google", t0 + 63s));
    CHECK_FALSE(t.take("provider:google", t0 + 64s));
    CHECK(t.status("provider:google", t0 + 63s).fraction < 0.6);
    t.reset("provider:google");
    CHECK(t.status("provider:google", t0 + 63s).fraction == 1);
}

TEST_CASE("a reload keeps the backoff of keys whose limits did not change") {
    auto c = config_from(pool_config);
    auto t = throttles::from(c);
    steady_time t0{std::chrono::hours(100)};
    REQUIRE(t.on_reply("provider:google", {421, "4.7.0", "try later"}, t0));
    REQUIRE(t.on_reply("domain:orange.fr", {421, "4.7.0", "try later"}, t0));
    c.throttles.at(0).rate = "5/s";
    t.reconfigure(c);
    CHECK(t.status("provider:google", t0 + 10s).suspended);
    CHECK_FALSE(t.status("domain:orange.fr", t0 + 10s).suspended);
    CHECK(t.limits_for("domain:orange.fr").pace->count == 5);
}

TEST_CASE("a paced warming IP says it is pacing, not that its cap is reached") {
    auto c = config_from(pool_config);
    c.warming.at("five").pace = true;
    c.warming.at("three").pace = true;
    memory_counter_store store;
    source_pool pool(c, store, 1);
    auto now = at("2026-11-20", 1h);  // allowance 1 each
    CHECK(pool.acquire("default", now).source == 0u);
    CHECK(pool.acquire("default", now).source == 1u);
    auto wait = pool.acquire("default", now);
    CHECK_FALSE(wait.source);
    CHECK(
        wait.reason.find("warming pace of 127.0.0.2 × default (1 of 5 sent today)") !=
        std::string::npos
    );
    CHECK(wait.next > now);
    CHECK(wait.next <= at("2026-11-20", 8h));  // 3 of 3: one every 8 hours
}

TEST_CASE("keys without limits are not kept once their backoff has worn off") {
    auto t = throttles::from(config_from(""));
    steady_time t0{std::chrono::hours(100)};
    for (int i = 0; i < 100; ++i)
        CHECK(t.check("domain:d" + std::to_string(i) + ".example", t0).may_send);
    CHECK(t.keys().empty());
    REQUIRE(t.on_reply("domain:slow.example", {421, "4.7.0", "try later"}, t0));
    CHECK(t.keys() == std::vector<std::string>{"domain:slow.example"});
    CHECK_FALSE(t.check("domain:slow.example", t0 + 30s).may_send);
    // Suspended 1 min, then back to 100% after 10 more (5% a minute from 50%), then no repeat
    // for the 30 min repeat window: forgotten.
    CHECK(t.check("domain:slow.example", t0 + 5min).may_send);
    CHECK(t.keys().size() == 1);
    CHECK(t.check("domain:slow.example", t0 + 2h).may_send);
    CHECK(t.keys().empty());
}

TEST_CASE("the operator's slow-down rows apply before the built-in ones, also after a reload") {
    auto c = config_from(pool_config);
    steady_time t0{std::chrono::hours(100)};
    const outpost::smtp::reply custom{451, "4.3.0", "Please pace your mail, friend"};
    // Built-in table only: not a slow-down.
    auto plain = throttles::from(c);
    CHECK_FALSE(plain.on_reply("domain:example.com", custom, t0));
    // With the operator's row.
    c.shaping.slowdown_table = "/etc/outpost/slowdown.tsv";
    c.shaping.slowdown_text = "# ours\n4xx\t*\tpace your mail\texample.com asks to pace\n";
    auto t = throttles::from(c);
    auto change = t.on_reply("domain:example.com", custom, t0);
    REQUIRE(change);
    REQUIRE(change->rule);
    CHECK(change->rule->why == "example.com asks to pace");
    // The built-in rows still apply.
    CHECK(t.on_reply("domain:other.example", {421, "4.7.0", "try later"}, t0));
    // A reload without the table drops the row.
    auto reloaded = config_from(pool_config);
    t.reconfigure(reloaded);
    CHECK_FALSE(t.on_reply("domain:third.example", custom, t0));
}
