// Source IP selection under warming caps.
#include "core/shaping/pool.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace outpost::shaping {

source_pool::source_pool(const config::config& c, counter_store& store, std::uint64_t burst)
    : store_(store), burst_(burst) {
    for (const auto& ip : c.source_ips) {
        member m;
        m.address = ip.address.to_string();
        if (auto w = c.warming.find(ip.warming); !ip.warming.empty() && w != c.warming.end()) {
            m.plan = schedule::from(w->second);
            m.start = parse_date(ip.warming_start).value_or(day{});
        }
        ips_.push_back(std::move(m));
    }
    for (const auto& m : ips_)
        if (m.plan)
            for (const auto& a : m.plan->overflow)
                for (auto& other : ips_)
                    if (other.address == a && !other.plan)
                        other.reserved = true;
}

std::optional<room> source_pool::assess_member(
    const member& m, std::string_view provider, wall_time now
) {
    if (!m.plan)
        return std::nullopt;
    auto today = local_day(now, m.plan->utc_offset);
    auto history = store_.history(m.address, provider, m.start, today);
    return assess(*m.plan, m.start, provider, now, history, burst_, m.plan->pace);
}

std::optional<room> source_pool::status(
    std::size_t source, std::string_view provider, wall_time now
) {
    if (source >= ips_.size())
        return std::nullopt;
    return assess_member(ips_[source], provider, now);
}

source_choice source_pool::acquire(
    std::string_view provider, wall_time now, const blocked_fn& blocked
) {
    source_choice waiting;
    if (ips_.empty())
        return waiting;
    std::vector<std::string> overflow;
    std::vector<std::string> reasons;
    auto wait_until = [&](wall_time next) {
        if (waiting.next == wall_time{} || next < waiting.next)
            waiting.next = next;
    };
    // A member backed off for this destination: passed over, its reason kept for the wait.
    auto is_blocked = [&](std::size_t i) {
        auto b = blocked ? blocked(i) : std::nullopt;
        if (b) {
            wait_until(b->until);
            reasons.push_back(std::move(b->reason));
        }
        return b.has_value();
    };
    for (std::size_t i = 0; i < ips_.size(); ++i) {
        const auto& m = ips_[i];
        if (!m.plan)
            continue;
        auto r = assess_member(m, provider, now);
        if (r->may_send) {
            if (is_blocked(i)) {
                // Its schedule still reserves room: keep the overflow it would spill into.
                for (const auto& a : m.plan->overflow)
                    overflow.push_back(a);
                continue;
            }
            counter_key k{m.address, std::string(provider), local_day(now, m.plan->utc_offset)};
            // take() re-checks against the store: another delivery may have used the slot.
            if (!r->cap || store_.take(k, r->allowed)) {
                if (!r->cap)
                    store_.add(k, daily_counts{1, 0, 0, 0});
                return source_choice{i, false, {}, {}, std::move(k)};
            }
            r->may_send = false;
            r->next = now + std::chrono::seconds{1};
        }
        for (const auto& a : m.plan->overflow)
            overflow.push_back(a);
        wait_until(r->next);
        if (r->where.last == gate::not_started)
            reasons.push_back(fmt::format("{} starts warming on {}", m.address, date_text(m.start))
            );
        else
            reasons.push_back(
                r->cap && r->sent < *r->cap ? fmt::format(
                                                  "warming pace of {} × {} ({} of {} sent today)",
                                                  m.address, provider, r->sent, *r->cap
                                              )
                                            : fmt::format(
                                                  "warming cap of {} × {} reached ({} of {} today)",
                                                  m.address, provider, r->sent, r->cap.value_or(0)
                                              )
            );
    }
    for (std::size_t i = 0; i < ips_.size(); ++i)
        if (!ips_[i].plan && !ips_[i].reserved && !is_blocked(i))
            return source_choice{i, false, {}, {}, {}};
    for (std::size_t i = 0; i < ips_.size(); ++i)
        if (!ips_[i].plan && ips_[i].reserved &&
            std::find(overflow.begin(), overflow.end(), ips_[i].address) != overflow.end() &&
            !is_blocked(i))
            return source_choice{i, true, {}, {}, {}};
    waiting.reason = fmt::format("{}", fmt::join(reasons, "; "));
    return waiting;
}

std::optional<std::size_t> source_pool::index_of(std::string_view address) const {
    for (std::size_t i = 0; i < ips_.size(); ++i)
        if (ips_[i].address == address)
            return i;
    return std::nullopt;
}

bool source_pool::record(
    std::size_t source, std::string_view provider, wall_time when, const daily_counts& delta
) {
    if (source >= ips_.size())
        return false;
    const auto& m = ips_[source];
    auto offset = m.plan ? m.plan->utc_offset : std::chrono::minutes{0};
    return store_.add(
        counter_key{m.address, std::string(provider), local_day(when, offset)}, delta
    );
}

}  // namespace outpost::shaping
