// The shaper: throttles, providers and the warming pool asked together, per batch.
#include "core/shaping/shaper.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::shaping {

namespace {

wall_time to_wall(steady_time at, wall_time wall, steady_time now) {
    return wall + std::chrono::duration_cast<wall_time::duration>(at - now);
}

}  // namespace

shaper::shaper(
    const config::config& c,
    counter_store* store,
    throttle_store* backoffs,
    wall_time wall,
    steady_time now
)
    : store_(store ? *store : fallback_), backoffs_(backoffs), throttles_(throttles::from(c)) {
    wire(c);
    if (backoffs_)
        for (auto& r : backoffs_->load(wall))
            throttles_.restore(
                r.key, r.fraction, now + (r.until - wall), r.repeats, std::move(r.last_slowdown),
                now
            );
}

void shaper::wire(const config::config& c) {
    providers_ = provider_map::from(c);
    pool_.reset();
    pool_.emplace(c, store_);
}

void shaper::reconfigure(const config::config& c) {
    wire(c);
    throttles_.reconfigure(c);
}

destination shaper::classify(std::string_view domain, std::span<const std::string> mx_hosts) const {
    destination d;
    d.domain = util::to_lower(domain);
    d.provider = std::string(providers_.match(d.domain, mx_hosts));
    d.key = throttles_.key(d.domain, d.provider);
    d.configured = throttles_.limits_for(d.key);
    return d;
}

std::optional<wait> shaper::may_connect(const destination& d, wall_time wall, steady_time now) {
    if (d.configured.max_connections) {
        auto it = connections_.find(d.key);
        if (it != connections_.end() && it->second >= d.configured.max_connections)
            // A connection closing wakes the runner; the second is a backstop.
            return wait{
                wall + std::chrono::seconds(1),
                fmt::format(
                    "{} connection{} to {} in use (max_connections)", it->second,
                    it->second == 1 ? "" : "s", d.key
                )};
    }
    auto v = throttles_.check(d.key, now);
    if (!v.may_send)
        return wait{to_wall(v.not_before, wall, now), fmt::format("{}: {}", d.key, v.reason)};
    return std::nullopt;
}

std::optional<shaper::allowance> shaper::rate_allowance(
    const destination& d, wall_time wall, steady_time now
) {
    auto a = throttles_.allowed(d.key, now);
    if (!a)
        return std::nullopt;
    return allowance{
        a->count,
        wait{
            to_wall(a->next, wall, now),
            fmt::format("{}: rate {}", d.key, d.configured.pace ? d.configured.pace->text() : "")}};
}

std::vector<std::string> shaper::gate_notices(std::string_view provider, wall_time wall) {
    std::vector<std::string> out;
    // At most one look per IP × provider an hour: the gate changes once a (local) day.
    auto hour = std::chrono::duration_cast<std::chrono::hours>(wall.time_since_epoch()).count();
    if (hour != gates_hour_) {
        gates_hour_ = hour;
        gates_seen_.clear();
        if (gates_said_.size() > 100000)  // a bound; at worst a notice is said twice
            gates_said_.clear();
    }
    for (std::size_t i = 0; i < pool_->size(); ++i) {
        const auto& ip = pool_->address(i);
        if (!gates_seen_.insert(fmt::format("{} {}", ip, provider)).second)
            continue;
        auto r = pool_->status(i, provider, wall);
        if (!r || (r->where.last != gate::held && r->where.last != gate::stepped_back))
            continue;
        if (!gates_said_.insert(fmt::format("{} {} {}", ip, provider, date_text(r->where.judged)))
                 .second)
            continue;
        out.push_back(fmt::format(
            "{} × {} {} at day {}: {}", ip, provider, gate_name(r->where.last), r->where.step + 1,
            r->where.reason
        ));
    }
    return out;
}

admission shaper::admit(const destination& d, std::size_t n, wall_time wall, steady_time now) {
    admission out;
    out.notices = gate_notices(d.provider, wall);
    // An IP backed off at this key is passed over; the others go on at the key's rate.
    auto backed_off = [&](std::size_t source) -> std::optional<source_pool::blocked_until> {
        const auto& ip = pool_->address(source);
        auto v = throttles_.check_source(d.key, ip, now);
        if (v.may_send)
            return std::nullopt;
        return source_pool::blocked_until{
            to_wall(v.not_before, wall, now),
            fmt::format("{}: {}", throttles::source_key(d.key, ip), v.reason)};
    };
    std::size_t i = 0;
    for (; i < n; ++i) {
        auto v = throttles_.check(d.key, now);
        if (!v.may_send) {
            out.why =
                wait{to_wall(v.not_before, wall, now), fmt::format("{}: {}", d.key, v.reason)};
            break;
        }
        auto choice = pool_->acquire(d.provider, wall, backed_off);
        if (!choice.source && !choice.reason.empty()) {
            out.why = wait{choice.next, choice.reason};
            break;
        }
        throttles_.take(d.key, now, choice.source ? pool_->address(*choice.source) : "");
        auto g = std::find_if(out.groups.begin(), out.groups.end(), [&](const auto& x) {
            return x.source == choice.source;
        });
        if (g == out.groups.end())
            g = out.groups.insert(
                out.groups.end(), {choice.source,
                                   choice.source ? pool_->address(*choice.source) : std::string(),
                                   {},
                                   choice.unit}
            );
        g->transactions.push_back(i);
    }
    for (; i < n; ++i)
        out.waiting.push_back(i);
    return out;
}

void shaper::opened(const destination& d) {
    ++connections_[d.key];
}

void shaper::closed(const destination& d) {
    auto it = connections_.find(d.key);
    if (it == connections_.end())
        return;
    if (--it->second == 0)
        connections_.erase(it);
}

std::optional<throttle_change> shaper::on_reply(
    const destination& d,
    const smtp::reply& reply,
    steady_time now,
    wall_time wall,
    std::string_view source
) {
    auto change = throttles_.on_reply(d.key, reply, now, source);
    if (change && backoffs_) {
        auto s = throttles_.status(change->key, now);
        backoffs_->save(
            {change->key, to_wall(s.suspended_until, wall, now), change->change.fraction,
             change->change.repeats, s.last_slowdown}
        );
    }
    return change;
}

void shaper::suspend(
    std::string_view key, steady_time::duration length, wall_time wall, steady_time now
) {
    throttles_.suspend(key, now + length, "suspended by the operator", now);
    if (backoffs_) {
        auto s = throttles_.status(key, now);
        backoffs_->save(
            {std::string(key), to_wall(s.suspended_until, wall, now), s.fraction, s.repeats,
             s.last_slowdown}
        );
    }
}

bool shaper::adopt(const backoff_record& r, wall_time wall, steady_time now) {
    auto until = now + std::chrono::duration_cast<steady_time::duration>(r.until - wall);
    auto mine = throttles_.status(r.key, now);
    if (until <= now || (mine.suspended && mine.suspended_until >= until))
        return false;
    throttles_.restore(r.key, r.fraction, until, r.repeats, r.last_slowdown, now);
    if (backoffs_)
        backoffs_->save(r);
    return true;
}

backoff_record shaper::backoff_of(std::string_view key, wall_time wall, steady_time now) {
    auto s = throttles_.status(key, now);
    return {
        std::string(key), to_wall(s.suspended_until, wall, now), s.fraction, s.repeats,
        s.last_slowdown};
}

void shaper::resume(std::string_view key, wall_time wall) {
    auto forgotten = throttles_.reset(key);
    if (std::find(forgotten.begin(), forgotten.end(), key) == forgotten.end())
        forgotten.emplace_back(key);
    // Records that have already ended: a restart restores nothing.
    if (backoffs_)
        for (const auto& k : forgotten)
            backoffs_->save({k, wall, 1.0, 0, ""});
}

void shaper::record(
    std::string_view source, std::string_view provider, wall_time when, const daily_counts& delta
) {
    if (auto i = pool_->index_of(source))
        pool_->record(*i, provider, when, delta);
}

bool shaper::give_back(const counter_key& unit) {
    return store_.give_back(unit);
}

std::vector<warming_use> shaper::warming_usage(wall_time wall) {
    std::vector<std::string> providers;
    for (const auto& r : providers_.rules())
        providers.push_back(r.name);
    providers.emplace_back(default_provider);
    std::vector<warming_use> out;
    for (std::size_t i = 0; i < pool_->size(); ++i)
        for (const auto& p : providers)
            if (auto r = pool_->status(i, p, wall))
                out.push_back({pool_->address(i), p, r->sent, r->cap});
    return out;
}

std::vector<key_status> shaper::status(wall_time wall, steady_time now) {
    std::vector<key_status> out;
    for (const auto& k : throttles_.keys()) {
        auto s = throttles_.status(k, now);
        key_status ks;
        ks.key = k;
        ks.configured = s.configured;
        ks.fraction = s.fraction;
        ks.suspended = s.suspended;
        ks.suspended_until = s.suspended ? to_wall(s.suspended_until, wall, now) : wall_time{};
        ks.repeats = s.repeats;
        ks.last_slowdown = s.last_slowdown;
        if (auto it = connections_.find(k); it != connections_.end())
            ks.connections = it->second;
        out.push_back(std::move(ks));
    }
    return out;
}

}  // namespace outpost::shaping
