// IP-warming arithmetic: the day in a time zone, the cap of a schedule step, pacing through the
// day, and health gates over recorded daily counts. Pure: dates and times are passed in.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"

namespace outpost::shaping {

using day = std::chrono::sys_days;
using wall_time = std::chrono::system_clock::time_point;

// "YYYY-MM-DD" (a real calendar date); nullopt otherwise.
std::optional<day> parse_date(std::string_view text);
std::string date_text(day d);

// A time zone as a fixed offset from UTC: "UTC", "Z", "+01:00", "-05:30", "+0100" (at most
// ±14:00). Named zones with daylight saving ("Europe/Paris") are not supported: libstdc++ 12 has
// no time zone database, and a warming day of 23 or 25 hours would distort the caps anyway.
std::optional<std::chrono::minutes> parse_utc_offset(std::string_view text);

// The local calendar day that contains t, at the given offset from UTC.
day local_day(wall_time t, std::chrono::minutes offset);
// The instant the local day d begins.
wall_time day_start(day d, std::chrono::minutes offset);

// What one IP sent to one provider on one day. sent counts every message handed to the receiver
// (the cap limits it); deferred, bounced and complaints are those of the sent messages that the
// receiver deferred, refused, or that recipients reported as spam (a feedback loop report).
struct daily_counts {
    std::uint64_t sent = 0;
    std::uint64_t deferred = 0;
    std::uint64_t bounced = 0;
    std::uint64_t complaints = 0;
    // From DMARC aggregate reports about the day (not stored with the counts: read from the
    // reports when a schedule asks): messages receivers saw from the IP as our domains, and
    // how many of them passed DMARC.
    std::uint64_t dmarc_messages = 0;
    std::uint64_t dmarc_pass = 0;

    daily_counts& operator+=(const daily_counts& o);
    bool operator==(const daily_counts&) const = default;
};

struct health_thresholds {
    double max_deferral_rate = 0.10;    // deferred / sent
    double max_bounce_rate = 0.05;      // bounced / sent
    double max_complaint_rate = 0.003;  // complaints / sent (Gmail's published 0.3%)
    // dmarc_pass / dmarc_messages, judged once receivers reported at least
    // min_dmarc_messages messages for the day; 0: not judged.
    double min_dmarc_pass_rate = 0;
};

inline constexpr std::uint64_t min_dmarc_messages = 20;

enum class unhealthy_policy { hold, step_back };

// Why a day failed its health gate ("deferral rate 12.0% over 10.0%"); nullopt when healthy. A
// day with nothing sent is healthy: there is nothing against it.
std::optional<std::string> health_problem(const daily_counts& c, const health_thresholds& t);

// A warming schedule with its provider overrides, as the scheduler uses it.
struct schedule {
    std::vector<std::uint64_t> daily;
    std::map<std::string, std::vector<std::uint64_t>, std::less<>> provider;
    // The cap after the schedule ends (nullopt: unlimited); it also bounds every earlier step.
    std::optional<std::uint64_t> ceiling;
    health_thresholds health;
    unhealthy_policy on_unhealthy = unhealthy_policy::hold;
    std::chrono::minutes utc_offset{0};
    bool pace = true;                   // spread the cap over the day
    std::vector<std::string> overflow;  // already-warm IPs that take what this one may not send

    // From [warming.NAME]; the time zone must already have been validated by the loader.
    static schedule from(const config::warming_schedule& w);

    // The daily caps that apply to provider: its override, else the general list.
    const std::vector<std::uint64_t>& caps_for(std::string_view name) const;

    // The cap of a step (0 = the first day of the schedule) for the provider name; nullopt =
    // unlimited.
    std::optional<std::uint64_t> cap(std::string_view name, std::size_t step) const;

    // Steps in the provider's list: from this step on the cap is the ceiling (or unlimited).
    std::size_t length(std::string_view name) const { return caps_for(name).size(); }
};

enum class gate { not_started, first_day, advanced, held, stepped_back };

std::string_view gate_name(gate g);

// Where an IP × provider stands in its schedule today, and why.
struct progress {
    std::size_t step = 0;  // index into the daily caps
    gate last = gate::first_day;
    std::string reason;  // for held and stepped_back: the health problem of the day before
    day judged{};        // the day whose counts decided last (held, advanced, stepped_back)
};

// The step for today of an IP that started on start: one step per day since start, except that a
// day whose counts in history failed the health gate holds the step (or steps back one, per
// on_unhealthy). Days missing from history count as healthy. Before start: not_started, step 0.
progress schedule_step(
    const schedule& s, day start, day today, const std::map<day, daily_counts>& history
);

// Pacing: how many of cap may have been sent `elapsed` into the day: the cap spread evenly over
// the day, plus burst, never more than cap. Spreading keeps the whole cap from leaving in the
// first minutes after midnight.
std::uint64_t paced_allowance(std::uint64_t cap, std::chrono::seconds elapsed, std::uint64_t burst);

// When (time into the day) message number sent + 1 is allowed; nullopt when sent >= cap (it waits
// for the next day).
std::optional<std::chrono::seconds> next_slot(
    std::uint64_t cap, std::uint64_t sent, std::uint64_t burst
);

// The verdict for one more message from an IP to a provider at now.
struct room {
    progress where;
    std::optional<std::uint64_t> cap;  // today's; nullopt = unlimited
    std::uint64_t sent = 0;            // today so far
    std::uint64_t allowed = 0;         // paced allowance now (cap when unpaced or unlimited)
    bool may_send = false;
    // When may_send is false: the earliest time the next message is allowed (a later slot today,
    // or the start of tomorrow when the cap is reached).
    wall_time next{};
};

// Decides whether ip (warming on s since start) may send one more message to provider at now,
// given its recorded history (today included). Before the IP's start date the cap is 0 and next
// is the start of its first day. burst: messages allowed ahead of the even pace;
// paced = false allows the whole cap at once.
room assess(
    const schedule& s,
    day start,
    std::string_view provider,
    wall_time now,
    const std::map<day, daily_counts>& history,
    std::uint64_t burst = 10,
    bool paced = true
);

}  // namespace outpost::shaping
