// Warming simulation.
#include "core/shaping/plan.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/shaping/provider.hpp"

namespace outpost::shaping {

namespace {

std::vector<std::string> provider_names(const config::config& c) {
    std::vector<std::string> names;
    for (const auto& p : c.providers)
        names.push_back(p.name);
    names.emplace_back(default_provider);
    return names;
}

struct warming_ip {
    std::string address;
    schedule plan;
    day start;
    std::string schedule_name;
};

std::vector<warming_ip> warming_ips(const config::config& c) {
    std::vector<warming_ip> out;
    for (const auto& ip : c.source_ips) {
        if (ip.warming.empty())
            continue;
        auto w = c.warming.find(ip.warming);
        auto start = parse_date(ip.warming_start);
        if (w == c.warming.end() || !start)
            continue;  // the loader refuses both
        out.push_back(warming_ip{
            ip.address.to_string(), schedule::from(w->second), *start, ip.warming});
    }
    return out;
}

}  // namespace

std::vector<std::string> override_warnings(std::string_view name, const schedule& s) {
    std::vector<std::string> out;
    for (const auto& [provider, caps] : s.provider) {
        if (caps.empty())
            continue;
        auto last = s.cap(provider, caps.size() - 1);
        auto next = s.cap(provider, caps.size());
        // A ramp doubles at most from one day to the next; more than that after the override
        // ends is a cliff the operator probably did not mean.
        if (next && (!last || *next <= 2 * *last))
            continue;
        auto general =
            caps.size() < s.daily.size()
                ? fmt::format(", while the general list goes on to day {}", s.daily.size())
                : std::string();
        out.push_back(fmt::format(
            "warming.{}: the override for {} ends after day {} (cap {}); from day {} {} {}{}", name,
            provider, caps.size(), last ? fmt::format("{}", *last) : "unlimited", caps.size() + 1,
            provider,
            next ? fmt::format(
                       "may send {} (the ceiling), {:.0f}× as much", *next,
                       last && *last ? static_cast<double>(*next) / static_cast<double>(*last) : 0.0
                   )
                 : std::string("is unlimited (no ceiling)"),
            general
        ));
    }
    return out;
}

std::optional<std::string> plan_error(const config::config& c, const simulation_options& o) {
    auto names = provider_names(c);
    double total = 0;
    for (const auto& [name, share] : o.share) {
        if (std::find(names.begin(), names.end(), name) == names.end())
            return fmt::format("share names no provider \"{}\"", name);
        if (!(share >= 0 && share <= 1))
            return fmt::format("share of \"{}\" must be between 0 and 1", name);
        total += share;
    }
    if (total > 1.000001)
        return fmt::format("shares add up to {:.0f}%, more than 100%", total * 100);
    if (warming_ips(c).empty())
        return std::string("no [[source_ip]] follows a warming schedule");
    if (o.volume == 0)
        return std::string("the volume must be more than 0 messages a day");
    return std::nullopt;
}

plan simulate(const config::config& c, const simulation_options& o) {
    plan p;
    p.volume = o.volume;
    auto ips = warming_ips(c);
    for (const auto& ip : ips) {
        p.warming_ips.push_back(ip.address);
        for (const auto& a : ip.plan.overflow)
            if (std::find(p.overflow_pool.begin(), p.overflow_pool.end(), a) ==
                p.overflow_pool.end())
                p.overflow_pool.push_back(a);
    }
    std::vector<std::string> seen;
    for (const auto& ip : ips) {
        if (std::find(seen.begin(), seen.end(), ip.schedule_name) != seen.end())
            continue;
        seen.push_back(ip.schedule_name);
        for (auto& w : override_warnings(ip.schedule_name, ip.plan))
            p.warnings.push_back(std::move(w));
    }
    p.start = o.start.value_or(day{});
    if (!o.start && !ips.empty())
        p.start = std::min_element(ips.begin(), ips.end(), [](const auto& a, const auto& b) {
                      return a.start < b.start;
                  })->start;

    // The split of the volume: named shares first, the rest evenly, rounding leftovers to the
    // last provider (default) so the demands add up to the volume.
    auto names = provider_names(c);
    double named = 0;
    std::size_t unnamed = 0;
    for (const auto& n : names) {
        if (auto it = o.share.find(n); it != o.share.end())
            named += it->second;
        else
            ++unnamed;
    }
    std::uint64_t assigned = 0;
    for (const auto& n : names) {
        double share = 0;
        if (auto it = o.share.find(n); it != o.share.end())
            share = it->second;
        else
            share = std::max(0.0, 1 - named) / static_cast<double>(unnamed);
        auto d = static_cast<std::uint64_t>(static_cast<double>(o.volume) * share);
        p.demand[n] = d;
        assigned += d;
    }
    if (assigned < o.volume && (unnamed > 0 || named >= 0.999999))
        p.demand[std::string(default_provider)] += o.volume - assigned;

    constexpr unsigned horizon = 3650;
    std::optional<unsigned> last_overflow;
    bool never = false;
    for (unsigned i = 0; i < std::max(o.days, horizon); ++i) {
        plan_day pd;
        pd.date = p.start + std::chrono::days{i};
        pd.number = i + 1;
        for (const auto& n : names) {
            provider_day x;
            x.provider = n;
            x.demand = p.demand[n];
            std::uint64_t sum = 0;
            bool unlimited = false;
            for (const auto& ip : ips) {
                auto step = schedule_step(ip.plan, ip.start, pd.date, {});
                if (step.last == gate::not_started)
                    continue;
                auto cap = ip.plan.cap(n, step.step);
                if (!cap)
                    unlimited = true;
                else
                    sum += *cap;
            }
            if (!unlimited)
                x.cap = sum;
            x.sent = x.cap ? std::min(x.demand, *x.cap) : x.demand;
            x.overflow = x.demand - x.sent;
            pd.overflow += x.overflow;
            pd.providers.push_back(std::move(x));
        }
        if (pd.overflow > 0)
            last_overflow = pd.number;
        bool listed = i < o.days;
        // Past the listed days, stop once every schedule (and its overrides) has ended: from
        // there on nothing changes.
        if (!listed) {
            bool ended = true;
            for (const auto& ip : ips) {
                std::size_t longest = ip.plan.daily.size();
                for (const auto& [name, caps] : ip.plan.provider)
                    longest = std::max(longest, caps.size());
                if (pd.date < ip.start + std::chrono::days{static_cast<int>(longest)})
                    ended = false;
            }
            if (ended) {
                never = pd.overflow > 0;
                break;
            }
        } else {
            p.days.push_back(std::move(pd));
        }
    }
    if (!never)
        p.full_volume_day = last_overflow ? *last_overflow + 1 : 1;
    return p;
}

}  // namespace outpost::shaping
