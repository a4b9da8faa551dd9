// Warming caps, pacing and health gates.
#include "core/shaping/warming.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace outpost::shaping {

namespace {

constexpr std::chrono::seconds day_length = std::chrono::hours(24);

std::optional<unsigned> digits(std::string_view s) {
    if (s.empty())
        return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    return v;
}

double ratio(std::uint64_t part, std::uint64_t whole) {
    return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

std::optional<day> parse_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-')
        return std::nullopt;
    auto y = digits(text.substr(0, 4));
    auto m = digits(text.substr(5, 2));
    auto d = digits(text.substr(8, 2));
    if (!y || !m || !d)
        return std::nullopt;
    std::chrono::year_month_day ymd{
        std::chrono::year{static_cast<int>(*y)}, std::chrono::month{*m}, std::chrono::day{*d}};
    if (!ymd.ok())
        return std::nullopt;
    return day{ymd};
}

std::string date_text(day d) {
    std::chrono::year_month_day ymd{d};
    return fmt::format(
        "{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
        static_cast<unsigned>(ymd.day())
    );
}

std::optional<std::chrono::minutes> parse_utc_offset(std::string_view text) {
    if (text == "UTC" || text == "utc" || text == "Z" || text == "GMT")
        return std::chrono::minutes{0};
    if (text.size() < 3 || (text[0] != '+' && text[0] != '-'))
        return std::nullopt;
    auto rest = text.substr(1);
    std::optional<unsigned> h, m;
    if (rest.size() == 5 && rest[2] == ':') {
        h = digits(rest.substr(0, 2));
        m = digits(rest.substr(3, 2));
    } else if (rest.size() == 4) {
        h = digits(rest.substr(0, 2));
        m = digits(rest.substr(2, 2));
    } else if (rest.size() == 2) {
        h = digits(rest);
        m = 0;
    }
    if (!h || !m || *m >= 60 || *h * 60 + *m > 14 * 60)
        return std::nullopt;
    std::chrono::minutes v{static_cast<int>(*h * 60 + *m)};
    return text[0] == '-' ? -v : v;
}

day local_day(wall_time t, std::chrono::minutes offset) {
    return std::chrono::floor<std::chrono::days>(t + offset);
}

wall_time day_start(day d, std::chrono::minutes offset) {
    return wall_time{d.time_since_epoch()} - offset;
}

daily_counts& daily_counts::operator+=(const daily_counts& o) {
    sent += o.sent;
    deferred += o.deferred;
    bounced += o.bounced;
    complaints += o.complaints;
    dmarc_messages += o.dmarc_messages;
    dmarc_pass += o.dmarc_pass;
    return *this;
}

std::optional<std::string> health_problem(const daily_counts& c, const health_thresholds& t) {
    struct {
        const char* what;
        double rate;
        double max;
    } checks[] = {
        {"deferral", ratio(c.deferred, c.sent), t.max_deferral_rate},
        {"bounce", ratio(c.bounced, c.sent), t.max_bounce_rate},
        {"complaint", ratio(c.complaints, c.sent), t.max_complaint_rate},
    };

    // Reports come a day later: a low pass rate holds the schedule as a bounce-rate breach does.
    if (t.min_dmarc_pass_rate > 0 && c.dmarc_messages >= min_dmarc_messages) {
        auto rate = ratio(c.dmarc_pass, c.dmarc_messages);
        if (rate < t.min_dmarc_pass_rate)
            return fmt::format(
                "DMARC pass rate {:.1f}% under {:.1f}% ({} of {} reported)", rate * 100,
                t.min_dmarc_pass_rate * 100, c.dmarc_pass, c.dmarc_messages
            );
    }
    for (const auto& k : checks)
        if (k.rate > k.max)
            return fmt::format(
                "{} rate {:.1f}% over {:.1f}% ({} of {} sent)", k.what, k.rate * 100, k.max * 100,
                k.what[0] == 'd'   ? c.deferred
                : k.what[0] == 'b' ? c.bounced
                                   : c.complaints,
                c.sent
            );
    return std::nullopt;
}

schedule schedule::from(const config::warming_schedule& w) {
    schedule s;
    s.daily = w.daily;
    for (const auto& [name, caps] : w.provider)
        s.provider.emplace(name, caps);
    s.ceiling = w.ceiling;
    s.health.max_deferral_rate = w.max_deferral_rate;
    s.health.max_bounce_rate = w.max_bounce_rate;
    s.health.max_complaint_rate = w.max_complaint_rate;
    s.health.min_dmarc_pass_rate = w.min_dmarc_pass_rate;
    s.on_unhealthy =
        w.on_unhealthy == "step_back" ? unhealthy_policy::step_back : unhealthy_policy::hold;
    s.utc_offset = parse_utc_offset(w.time_zone).value_or(std::chrono::minutes{0});
    s.overflow = w.overflow;
    s.pace = w.pace;
    return s;
}

const std::vector<std::uint64_t>& schedule::caps_for(std::string_view name) const {
    if (auto it = provider.find(name); it != provider.end())
        return it->second;
    return daily;
}

std::optional<std::uint64_t> schedule::cap(std::string_view name, std::size_t step) const {
    const auto& caps = caps_for(name);
    if (step >= caps.size())
        return ceiling;
    return ceiling ? std::min(caps[step], *ceiling) : caps[step];
}

std::string_view gate_name(gate g) {
    switch (g) {
        case gate::not_started:
            return "not_started";
        case gate::first_day:
            return "first_day";
        case gate::advanced:
            return "advanced";
        case gate::held:
            return "held";
        case gate::stepped_back:
            return "stepped_back";
    }
    return "unknown";
}

progress schedule_step(
    const schedule& s, day start, day today, const std::map<day, daily_counts>& history
) {
    progress p;
    if (today < start) {
        p.last = gate::not_started;
        return p;
    }
    for (day d = start; d < today; d += std::chrono::days{1}) {
        p.judged = d;
        std::optional<std::string> problem;
        if (auto it = history.find(d); it != history.end())
            problem = health_problem(it->second, s.health);
        if (!problem) {
            ++p.step;
            p.last = gate::advanced;
            p.reason.clear();
        } else if (s.on_unhealthy == unhealthy_policy::step_back && p.step > 0) {
            --p.step;
            p.last = gate::stepped_back;
            p.reason = fmt::format("{} on {}", *problem, date_text(d));
        } else {
            p.last = gate::held;
            p.reason = fmt::format("{} on {}", *problem, date_text(d));
        }
    }
    return p;
}

std::uint64_t paced_allowance(
    std::uint64_t cap, std::chrono::seconds elapsed, std::uint64_t burst
) {
    auto e = std::clamp(elapsed, std::chrono::seconds{0}, day_length);
    // cap × elapsed fits in 64 bits for any cap below 2^47.
    auto even = cap * static_cast<std::uint64_t>(e.count()) /
                static_cast<std::uint64_t>(day_length.count());
    return std::min(cap, even + burst);
}

std::optional<std::chrono::seconds> next_slot(
    std::uint64_t cap, std::uint64_t sent, std::uint64_t burst
) {
    if (sent >= cap)
        return std::nullopt;
    if (sent + 1 <= burst)
        return std::chrono::seconds{0};
    // The smallest e with floor(cap × e / day) ≥ sent + 1 − burst.
    auto need = sent + 1 - burst;
    auto len = static_cast<std::uint64_t>(day_length.count());
    auto e = (need * len + cap - 1) / cap;
    return std::chrono::seconds{static_cast<std::int64_t>(e)};
}

room assess(
    const schedule& s,
    day start,
    std::string_view provider,
    wall_time now,
    const std::map<day, daily_counts>& history,
    std::uint64_t burst,
    bool paced
) {
    room r;
    auto today = local_day(now, s.utc_offset);
    r.where = schedule_step(s, start, today, history);
    if (r.where.last == gate::not_started) {
        // The IP is not in service before its first day.
        r.cap = 0;
        r.next = day_start(start, s.utc_offset);
        return r;
    }
    r.cap = s.cap(provider, r.where.step);
    if (auto it = history.find(today); it != history.end())
        r.sent = it->second.sent;
    auto begins = day_start(today, s.utc_offset);
    auto tomorrow = day_start(today + std::chrono::days{1}, s.utc_offset);
    if (!r.cap) {
        r.allowed = r.sent + 1;
        r.may_send = true;
        return r;
    }
    auto elapsed = std::chrono::floor<std::chrono::seconds>(now - begins);
    r.allowed = paced ? paced_allowance(*r.cap, elapsed, burst) : *r.cap;
    r.may_send = r.sent < r.allowed;
    if (!r.may_send) {
        auto slot = paced ? next_slot(*r.cap, r.sent, burst) : std::nullopt;
        r.next = slot ? begins + *slot : tomorrow;
    }
    return r;
}

}  // namespace outpost::shaping
