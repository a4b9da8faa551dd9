#include "core/shaping/warming.hpp"

#include <doctest/doctest.h>

using namespace outpost::shaping;
using namespace std::chrono_literals;
using std::chrono::minutes;

namespace {

day d(const char* text) {
    auto v = parse_date(text);
    REQUIRE(v);
    return *v;
}

wall_time at(const char* date, std::chrono::seconds since_midnight_utc) {
    return wall_time{d(date).time_since_epoch()} + since_midnight_utc;
}

schedule standard() {
    schedule s;
    s.daily = {500, 1000, 2000, 5000};
    s.provider["google"] = {200, 400};
    return s;
}

}  // namespace

TEST_CASE("dates parse only when they are real calendar dates") {
    CHECK(date_text(d("2026-11-20")) == "2026-11-20");
    CHECK(date_text(d("2028-02-29")) == "2028-02-29");
    for (auto bad : {"2026-02-29", "2026-13-01", "2026-1-01", "20261120", "2026-11-2x", ""})
        CHECK_MESSAGE(!parse_date(bad), bad);
}

TEST_CASE("fixed UTC offsets parse, named zones do not") {
    CHECK(parse_utc_offset("UTC") == minutes{0});
    CHECK(parse_utc_offset("+01:00") == minutes{60});
    CHECK(parse_utc_offset("-05:30") == minutes{-330});
    CHECK(parse_utc_offset("+0530") == minutes{330});
    CHECK(parse_utc_offset("+14:00") == minutes{840});
    for (auto bad : {"Europe/Paris", "+15:00", "+01:60", "01:00", "+1", ""})
        CHECK_MESSAGE(!parse_utc_offset(bad), bad);
}

TEST_CASE("the day boundary follows the time zone") {
    auto late = at("2026-11-20", 23h + 30min);
    CHECK(local_day(late, minutes{0}) == d("2026-11-20"));
    CHECK(local_day(late, minutes{60}) == d("2026-11-21"));
    CHECK(local_day(at("2026-11-20", 2h), minutes{-300}) == d("2026-11-19"));
    CHECK(day_start(d("2026-11-21"), minutes{60}) == at("2026-11-20", 23h));
    CHECK(day_start(d("2026-11-21"), minutes{0}) == at("2026-11-21", 0s));
}

TEST_CASE("caps follow the step, the provider override, then the ceiling or no limit") {
    auto s = standard();
    CHECK(s.cap("microsoft", 0) == 500u);
    CHECK(s.cap("microsoft", 3) == 5000u);
    CHECK(s.cap("microsoft", 4) == std::nullopt);
    CHECK(s.cap("google", 0) == 200u);
    CHECK(s.cap("google", 1) == 400u);
    CHECK(s.cap("google", 2) == std::nullopt);
    s.ceiling = 1500;
    CHECK(s.cap("microsoft", 2) == 1500u);
    CHECK(s.cap("microsoft", 9) == 1500u);
    CHECK(s.cap("google", 9) == 1500u);
    CHECK(s.cap("google", 0) == 200u);
}

TEST_CASE("health problems name the rate that is over its threshold") {
    health_thresholds t;
    CHECK_FALSE(health_problem({}, t));
    CHECK_FALSE(health_problem({1000, 100, 50, 3}, t));
    auto p = health_problem({1000, 101, 0, 0}, t);
    REQUIRE(p);
    CHECK(p->find("deferral rate 10.1% over 10.0%") != std::string::npos);
    CHECK(health_problem({1000, 0, 51, 0}, t)->starts_with("bounce"));
    CHECK(health_problem({1000, 0, 0, 4}, t)->starts_with("complaint"));
}

TEST_CASE("a schedule advances one step a day while the days are healthy") {
    auto s = standard();
    auto start = d("2026-11-20");
    CHECK(schedule_step(s, start, start, {}).step == 0);
    CHECK(schedule_step(s, start, start, {}).last == gate::first_day);
    CHECK(schedule_step(s, start, d("2026-11-23"), {}).step == 3);
    CHECK(schedule_step(s, start, d("2026-11-23"), {}).last == gate::advanced);
    CHECK(schedule_step(s, start, d("2026-11-19"), {}).last == gate::not_started);
}

TEST_CASE("an unhealthy day holds the schedule, or steps it back when so configured") {
    auto s = standard();
    auto start = d("2026-11-20");
    std::map<day, daily_counts> history{
        {d("2026-11-20"), {500, 0, 0, 0}},
        {d("2026-11-21"), {1000, 0, 0, 0}},
        {d("2026-11-22"), {2000, 400, 0, 0}},  // 20% deferred
    };
    auto held = schedule_step(s, start, d("2026-11-23"), history);
    CHECK(held.step == 2);
    CHECK(held.last == gate::held);
    CHECK(held.reason.find("deferral rate 20.0%") != std::string::npos);
    CHECK(held.reason.find("2026-11-22") != std::string::npos);
    CHECK(held.judged == d("2026-11-22"));
    // The day after a held day is judged again: healthy, so it advances.
    auto next = schedule_step(s, start, d("2026-11-24"), history);
    CHECK(next.step == 3);
    CHECK(next.last == gate::advanced);

    s.on_unhealthy = unhealthy_policy::step_back;
    auto back = schedule_step(s, start, d("2026-11-23"), history);
    CHECK(back.step == 1);
    CHECK(back.last == gate::stepped_back);
    // Stepping back never goes below the first day.
    std::map<day, daily_counts> bad_start{{start, {100, 0, 0, 10}}};
    CHECK(schedule_step(s, start, d("2026-11-21"), bad_start).step == 0);
}

TEST_CASE("pacing spreads the cap over the day") {
    CHECK(paced_allowance(2400, 0s, 10) == 10);
    CHECK(paced_allowance(2400, 1h, 10) == 110);
    CHECK(paced_allowance(2400, 12h, 10) == 1210);
    CHECK(paced_allowance(2400, 24h, 10) == 2400);
    CHECK(paced_allowance(2400, 23h + 59min, 10) == 2400);  // burst never exceeds the cap
    CHECK(paced_allowance(5, 0s, 10) == 5);
    CHECK(next_slot(2400, 9, 10) == 0s);
    CHECK(next_slot(2400, 10, 10) == 36s);  // one message every 36 s
    CHECK(next_slot(2400, 109, 10) == 1h);
    CHECK(next_slot(2400, 110, 10) == 1h + 36s);
    CHECK(next_slot(2400, 2400, 10) == std::nullopt);
    for (std::uint64_t sent = 10; sent < 2400; sent += 97) {
        auto slot = next_slot(2400, sent, 10);
        REQUIRE(slot);
        CHECK(paced_allowance(2400, *slot, 10) > sent);
        CHECK(paced_allowance(2400, *slot - 1s, 10) <= sent);
    }
}

TEST_CASE("assess refuses at the cap and names the start of the next local day") {
    auto s = standard();
    s.utc_offset = minutes{60};
    auto start = d("2026-11-20");
    auto now = at("2026-11-21", 22h);  // 23:00 local on the 21st: step 1
    std::map<day, daily_counts> history{{d("2026-11-21"), {1000, 0, 0, 0}}};
    auto r = assess(s, start, "microsoft", now, history);
    CHECK(r.where.step == 1);
    CHECK(r.cap == 1000u);
    CHECK_FALSE(r.may_send);
    CHECK(r.next == at("2026-11-21", 23h));  // local midnight
    // An hour later it is the 22nd locally: step 2, nothing sent yet.
    auto later = assess(s, start, "microsoft", now + 1h, history);
    CHECK(later.where.step == 2);
    CHECK(later.may_send);
    CHECK(later.cap == 2000u);
}

TEST_CASE("assess paces, and unpaced schedules may use the whole cap at once") {
    auto s = standard();
    auto start = d("2026-11-20");
    auto now = at("2026-11-20", 6h);  // a quarter of the day
    std::map<day, daily_counts> history{{start, {135, 0, 0, 0}}};
    auto r = assess(s, start, "microsoft", now, history, 10);
    CHECK(r.allowed == 135);  // 500 / 4 + 10
    CHECK_FALSE(r.may_send);
    CHECK(r.next > now);
    CHECK(r.next < now + 4min);
    auto unpaced = assess(s, start, "microsoft", now, history, 10, false);
    CHECK(unpaced.may_send);
    CHECK(unpaced.allowed == 500);
    // The provider's override applies to its counters.
    history[start].sent = 200;
    CHECK_FALSE(assess(s, start, "google", now, history, 10, false).may_send);
}

TEST_CASE("assess keeps an IP out of service before its start date, and unlimited after") {
    auto s = standard();
    auto start = d("2026-11-20");
    auto before = assess(s, start, "microsoft", at("2026-11-19", 12h), {});
    CHECK_FALSE(before.may_send);
    CHECK(before.next == at("2026-11-20", 0s));
    auto after = assess(s, start, "microsoft", at("2026-12-30", 12h), {});
    CHECK(after.may_send);
    CHECK(after.cap == std::nullopt);
}
