#include "core/shaping/shaper.hpp"

#include <doctest/doctest.h>

#include "tests/support/config_text.hpp"

using namespace outpost::shaping;
using namespace std::chrono_literals;

namespace {

using outpost::test::config_from;

const wall_time noon = wall_time{parse_date("2026-11-20")->time_since_epoch()} + 12h;
const steady_time t0{std::chrono::hours(1000)};

const char* two_ips = R"(
[[provider]]
name = "google"
mx = ["*.google.com"]
domains = ["gmail.com"]
rate = "60/min"
max_connections = 1

[[source_ip]]
address = "127.0.0.2"
ehlo = "a.example"
warming = "five"
warming_start = "2026-11-20"

[[source_ip]]
address = "127.0.0.3"
ehlo = "b.example"
warming = "three"
warming_start = "2026-11-20"

[warming.five]
daily = [5, 10]
pace = false

[warming.three]
daily = [3, 6]
pace = false
)";

struct memory_backoffs final : throttle_store {
    std::vector<backoff_record> records;

    bool save(const backoff_record& r) override {
        records.push_back(r);
        return true;
    }

    std::vector<backoff_record> load(wall_time) override { return records; }
};

std::size_t admitted(const admission& a) {
    std::size_t n = 0;
    for (const auto& g : a.groups)
        n += g.transactions.size();
    return n;
}

}  // namespace

TEST_CASE("a batch splits by source IP under the caps and the rest waits with the reason") {
    auto c = config_from(two_ips);
    memory_counter_store store;
    shaper g(c, &store);
    auto d = g.classify("Example.ORG", {});
    CHECK(d.provider == "default");
    CHECK(d.key == "domain:example.org");
    auto a = g.admit(d, 12, noon, t0);
    REQUIRE(a.groups.size() == 2);
    CHECK(a.groups[0].source == 0u);
    CHECK(a.groups[0].transactions == std::vector<std::size_t>{0, 1, 2, 3, 4});
    CHECK(a.groups[1].source == 1u);
    CHECK(a.groups[1].transactions == std::vector<std::size_t>{5, 6, 7});
    CHECK(a.waiting == std::vector<std::size_t>{8, 9, 10, 11});
    REQUIRE(a.why);
    CHECK(
        a.why->reason.find("warming cap of 127.0.0.2 × default reached (5 of 5 today)") !=
        std::string::npos
    );
    CHECK(a.why->until == wall_time{parse_date("2026-11-21")->time_since_epoch()});
    // The next day releases the next caps.
    auto next = g.admit(d, 20, noon + 24h, t0 + 24h);
    CHECK(admitted(next) == 16);
}

TEST_CASE("a unit given back returns to the counters it came from, even after a reload") {
    auto c = config_from(two_ips);
    memory_counter_store store;
    shaper g(c, &store);
    auto d = g.classify("example.org", {});
    auto a = g.admit(d, 6, noon - 12h + 23h + 59min, t0);  // 23:59 UTC on the 20th
    REQUIRE(a.groups.size() == 2);
    REQUIRE(a.groups[0].unit);
    CHECK(a.groups[0].unit->ip == "127.0.0.2");
    CHECK(a.groups[0].unit->provider == "default");
    CHECK(a.groups[0].unit->date == *parse_date("2026-11-20"));
    CHECK(a.groups[1].unit->ip == "127.0.0.3");
    // A reload makes 127.0.0.3 warm; the units still go back to the IP and the day they were
    // taken from, though the clock has passed midnight since.
    auto reloaded = c;
    reloaded.source_ips[1].warming.clear();
    g.reconfigure(reloaded);
    CHECK(g.give_back(*a.groups[0].unit));
    CHECK(g.give_back(*a.groups[1].unit));
    CHECK(store.get({"127.0.0.2", "default", *parse_date("2026-11-20")}).sent == 4);
    CHECK(store.get({"127.0.0.3", "default", *parse_date("2026-11-20")}).sent == 0);
    CHECK(store.get({"127.0.0.2", "default", *parse_date("2026-11-21")}).sent == 0);
    // A warm IP takes no unit, so its group has none to give back.
    reloaded.source_ips[0].warming.clear();
    g.reconfigure(reloaded);
    auto warm = g.admit(d, 1, noon + 24h, t0 + 24h);
    REQUIRE(warm.groups.size() == 1);
    CHECK_FALSE(warm.groups[0].unit);
}

TEST_CASE("a provider's rate and connection limit hold for every domain it hosts") {
    auto c = config_from(two_ips);
    c.source_ips.clear();
    shaper g(c, nullptr);
    std::vector<std::string> mx{"aspmx.l.google.com"};
    auto workspace = g.classify("corp.example", mx);
    auto gmail = g.classify("gmail.com", {});
    CHECK(workspace.key == "provider:google");
    CHECK(gmail.key == "provider:google");
    CHECK_FALSE(g.may_connect(gmail, noon, t0));
    auto a = g.admit(gmail, 3, noon, t0);
    REQUIRE(a.groups.size() == 1);
    CHECK_FALSE(a.groups[0].source);  // no pool: the default address
    CHECK(admitted(a) == 2);          // the bucket starts with two tokens
    REQUIRE(a.why);
    CHECK(a.why->until == noon + 1s);
    CHECK(a.why->reason == "provider:google: rate 60/min (now 100%)");
    g.opened(gmail);
    auto busy = g.may_connect(workspace, noon + 5s, t0 + 5s);
    REQUIRE(busy);
    CHECK(busy->reason.find("max_connections") != std::string::npos);
    g.closed(gmail);
    CHECK_FALSE(g.may_connect(workspace, noon + 5s, t0 + 5s));
}

TEST_CASE("a 421 suspends one destination while another keeps flowing") {
    auto c = config_from("");
    shaper g(c, nullptr);
    auto slow = g.classify("slow.example", {});
    auto fast = g.classify("fast.example", {});
    auto change = g.on_reply(slow, {421, "4.7.0", "try later"}, t0);
    REQUIRE(change);
    CHECK(change->key == "domain:slow.example");
    auto w = g.may_connect(slow, noon, t0 + 10s);
    REQUIRE(w);
    CHECK(w->until == noon + 50s);
    CHECK(w->reason == "domain:slow.example: suspended after \"421 4.7.0\"");
    CHECK_FALSE(g.may_connect(fast, noon, t0 + 10s));
    CHECK(admitted(g.admit(fast, 4, noon, t0 + 10s)) == 4);
    auto st = g.status(noon, t0 + 10s);
    auto it = std::find_if(st.begin(), st.end(), [](const key_status& k) {
        return k.key == "domain:slow.example";
    });
    REQUIRE(it != st.end());
    CHECK(it->suspended);
    CHECK(it->suspended_until == noon + 50s);
    CHECK(it->last_slowdown == "421 4.7.0");
}

TEST_CASE("a reload changes caps and limits at once and keeps the counters") {
    auto c = config_from(two_ips);
    memory_counter_store store;
    shaper g(c, &store);
    auto d = g.classify("example.org", {});
    CHECK(admitted(g.admit(d, 6, noon, t0)) == 6);
    c.warming.at("five").daily = {7, 10};
    g.reconfigure(c);
    // 5 of 7 used on the first IP, 1 of 3 on the second: 2 + 2 more.
    CHECK(admitted(g.admit(d, 10, noon, t0)) == 4);
}

TEST_CASE("the rate allowance says how many may go now and when the next one may") {
    auto c = config_from(two_ips);
    c.source_ips.clear();
    shaper g(c, nullptr);
    auto gmail = g.classify("gmail.com", {});
    auto a = g.rate_allowance(gmail, noon, t0);
    REQUIRE(a);
    CHECK(a->count == 2);  // a full bucket
    CHECK(admitted(g.admit(gmail, 2, noon, t0)) == 2);
    a = g.rate_allowance(gmail, noon, t0);
    REQUIRE(a);
    CHECK(a->count == 0);
    CHECK(a->rest.until == noon + 1s);
    CHECK(a->rest.reason == "provider:google: rate 60/min");
    CHECK_FALSE(g.rate_allowance(g.classify("example.org", {}), noon, t0));
}

TEST_CASE("a held health gate is noticed once, with the reason") {
    auto c = config_from(two_ips);
    memory_counter_store store;
    shaper g(c, &store);
    auto d = g.classify("example.org", {});
    CHECK(g.admit(d, 5, noon, t0).notices.empty());
    g.record(std::string_view("127.0.0.2"), "default", noon, {0, 0, 2, 0});  // 40% bounced
    auto next_day = g.admit(d, 1, noon + 24h, t0 + 24h);
    REQUIRE(next_day.notices.size() == 1);
    CHECK(next_day.notices[0].find("127.0.0.2 × default held at day 1: bounce rate 40.0%") == 0);
    CHECK(g.admit(d, 1, noon + 25h, t0 + 25h).notices.empty());  // said once
}

TEST_CASE("a backoff survives a restart through the throttle store") {
    memory_backoffs kept;

    auto c = config_from("");
    {
        shaper before(c, nullptr, &kept, noon, t0);
        auto slow = before.classify("slow.example", {});
        REQUIRE(before.on_reply(slow, {421, "4.7.0", "try later"}, t0, noon));
        REQUIRE(kept.records.size() == 1);
        CHECK(kept.records[0].until == noon + 60s);
    }
    // Another process: other clocks; 20 s later by the wall clock.
    steady_time other{std::chrono::hours(5)};
    shaper after(c, nullptr, &kept, noon + 20s, other);
    auto w = after.may_connect(after.classify("slow.example", {}), noon + 20s, other);
    REQUIRE(w);
    CHECK(w->until == noon + 60s);
    CHECK(w->reason == "domain:slow.example: suspended after \"421 4.7.0\"");
    CHECK_FALSE(after.may_connect(after.classify("slow.example", {}), noon + 61s, other + 41s));
}

namespace {

const char* two_warm_ips = R"(
[[throttle]]
domain = "gmail.com"
rate = "60/min"

[[source_ip]]
address = "127.0.0.2"

[[source_ip]]
address = "127.0.0.3"
)";

}  // namespace

TEST_CASE("a slow-down heard by one source IP backs off that IP alone, within the key's rate") {
    auto c = config_from(two_warm_ips);
    memory_backoffs kept;
    shaper g(c, nullptr, &kept, noon, t0);
    auto d = g.classify("gmail.com", {});
    auto first = g.admit(d, 1, noon, t0);
    REQUIRE(first.groups.size() == 1);
    CHECK(first.groups[0].address == "127.0.0.2");  // the first warm IP is preferred

    auto change = g.on_reply(d, {421, "4.7.28", "unusual rate"}, t0, noon, "127.0.0.2");
    REQUIRE(change);
    CHECK(change->key == "domain:gmail.com@127.0.0.2");
    REQUIRE(kept.records.size() == 1);
    CHECK(kept.records[0].key == "domain:gmail.com@127.0.0.2");
    // The key itself is not suspended: connections may open, and they go from the other IP.
    CHECK_FALSE(g.may_connect(d, noon, t0 + 2s));
    auto later = g.admit(d, 1, noon + 2s, t0 + 2s);
    REQUIRE(later.groups.size() == 1);
    CHECK(later.groups[0].address == "127.0.0.3");

    // Both IPs share the key's rate (60/min, a bucket of 2): the third in a second waits.
    auto burst = g.admit(d, 3, noon + 4s, t0 + 4s);
    CHECK(admitted(burst) == 2);
    REQUIRE(burst.why);
    CHECK(burst.why->reason == "domain:gmail.com: rate 60/min (now 100%)");

    // When the other IP is told to slow down too, mail waits for the earlier end, naming both.
    REQUIRE(g.on_reply(d, {451, "4.7.650", "rate limited"}, t0 + 10s, noon + 10s, "127.0.0.3"));
    auto none = g.admit(d, 1, noon + 20s, t0 + 20s);
    CHECK(admitted(none) == 0);
    REQUIRE(none.why);
    CHECK(none.why->until == noon + 60s);
    CHECK(
        none.why->reason ==
        "domain:gmail.com@127.0.0.2: suspended after \"421 4.7.28\"; "
        "domain:gmail.com@127.0.0.3: suspended after \"451 4.7.650\""
    );
    // status lists each IP's backoff under its own key, with the key's configured rate.
    auto st = g.status(noon + 20s, t0 + 20s);
    auto it = std::find_if(st.begin(), st.end(), [](const key_status& k) {
        return k.key == "domain:gmail.com@127.0.0.3";
    });
    REQUIRE(it != st.end());
    CHECK(it->suspended);
    CHECK(it->configured.pace);

    // A restart restores both; resuming the key lifts its IPs' backoffs, and says so in the store.
    shaper after(c, nullptr, &kept, noon + 20s, t0 + 20s);
    CHECK(admitted(after.admit(d, 1, noon + 20s, t0 + 20s)) == 0);
    after.resume("domain:gmail.com", noon + 21s);
    CHECK(admitted(after.admit(d, 1, noon + 21s, t0 + 21s)) == 1);
    shaper again(c, nullptr, &kept, noon + 22s, t0 + 22s);
    CHECK(admitted(again.admit(d, 1, noon + 22s, t0 + 22s)) == 1);
}

TEST_CASE("without source IPs a slow-down backs off the key itself") {
    auto c = config_from(two_warm_ips);
    c.source_ips.clear();
    shaper g(c, nullptr);
    auto d = g.classify("gmail.com", {});
    auto change = g.on_reply(d, {421, "4.7.28", "unusual rate"}, t0, noon, "");
    REQUIRE(change);
    CHECK(change->key == "domain:gmail.com");
    CHECK(g.may_connect(d, noon, t0 + 1s));
}
