// Throttle keys, token buckets and adaptive backoff together.
#include "core/shaping/throttle.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::shaping {

throttles throttles::from(const config::config& c, adaptive_options options) {
    throttles t;
    t.options_ = options;
    for (const auto& p : c.providers)
        t.configured_[fmt::format("provider:{}", p.name)] =
            limits{parse_rate(p.rate), p.max_connections, p.max_messages_per_connection};
    for (const auto& th : c.throttles) {
        auto k = th.domain == "*" ? std::string("default")
                                  : fmt::format("domain:{}", util::to_lower(th.domain));
        t.configured_[k] =
            limits{parse_rate(th.rate), th.max_connections, th.max_messages_per_connection};
    }
    if (!c.shaping.slowdown_text.empty()) {
        // Checked by outpostd before the config applied; a bad table yields the built-in rules.
        if (auto own = parse_slowdown_rules(c.shaping.slowdown_text, nullptr)) {
            t.rules_ = std::move(*own);
            const auto& builtin = slowdown_rules();
            t.rules_.insert(t.rules_.end(), builtin.begin(), builtin.end());
        }
    }
    return t;
}

std::string throttles::key(std::string_view domain, std::string_view provider) const {
    auto d = fmt::format("domain:{}", util::to_lower(domain));
    if (configured_.count(d))
        return d;
    if (!provider.empty() && provider != "default")
        return fmt::format("provider:{}", provider);
    return d;
}

std::string throttles::source_key(std::string_view key, std::string_view source) {
    return source.empty() ? std::string(key) : fmt::format("{}@{}", key, source);
}

namespace {

// The key a source key belongs to (domain names and provider names have no '@').
std::string_view base_key(std::string_view key) {
    return key.substr(0, key.find('@'));
}

bool is_source_key(std::string_view key) {
    return key.find('@') != std::string_view::npos;
}

}  // namespace

limits throttles::limits_for(std::string_view any_key) const {
    auto key = base_key(any_key);
    if (auto it = configured_.find(key); it != configured_.end())
        return it->second;
    if (key.starts_with("domain:"))
        if (auto it = configured_.find("default"); it != configured_.end())
            return it->second;
    return limits{};
}

std::vector<std::string> throttles::keys() const {
    std::vector<std::string> out;
    for (const auto& [k, l] : configured_)
        out.push_back(k);
    for (const auto& [k, e] : entries_)
        if (!configured_.count(k))
            out.push_back(k);
    std::sort(out.begin(), out.end());
    return out;
}

throttles::entry& throttles::at(std::string_view key, steady_time now) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        entry e{limits_for(key), adaptive_rate(options_), std::nullopt, {}};
        // The bucket holds one second's worth, at least 2: the scheduler wakes on whole seconds,
        // and a wake a little early must find the token a wake on time would have.
        if (e.configured.pace)
            e.bucket.emplace(
                e.configured.pace->per_second(),
                std::max(2.0, std::ceil(e.configured.pace->per_second())), now
            );
        it = entries_.emplace(std::string(key), std::move(e)).first;
    }
    auto& e = it->second;
    if (e.bucket)
        e.bucket->set_rate(e.configured.pace->per_second() * e.adaptive.fraction(now), now);
    return e;
}

bool throttles::idle(std::string_view key, steady_time now) {
    auto it = entries_.find(key);
    if (it == entries_.end())
        return !limits_for(key).pace;
    // A key without a rate whose backoff has worn off (rate back to 100%, no repeat pending) is
    // forgotten, so that the entries do not grow with every domain ever seen.
    // A source key's bucket is only its reduced share: kept while the share is.
    const auto& a = it->second.adaptive;
    if ((it->second.configured.pace && !is_source_key(key)) || a.suspended(now) ||
        a.fraction(now) < 1 || now - a.suspended_until() < a.options().repeat_window)
        return false;
    entries_.erase(it);
    return true;
}

throttle_verdict throttles::check(std::string_view key, steady_time now) {
    if (idle(key, now))
        return {};
    auto& e = at(key, now);
    if (e.adaptive.suspended(now))
        return {
            false, e.adaptive.suspended_until(),
            fmt::format("suspended after \"{}\"", e.last_slowdown)};
    if (e.bucket) {
        auto wait = e.bucket->wait_for(now);
        if (wait.count() > 0)
            return {
                false, now + wait,
                fmt::format(
                    "rate {} (now {:.0f}%)", e.configured.pace->text(),
                    e.adaptive.fraction(now) * 100
                )};
    }
    return {};
}

throttle_verdict throttles::check_source(
    std::string_view key, std::string_view source, steady_time now
) {
    auto k = source_key(key, source);
    // Only an IP that was asked to slow down has an entry of its own.
    if (source.empty() || !entries_.count(k))
        return {};
    return check(k, now);
}

std::optional<throttles::allowance> throttles::allowed(std::string_view key, steady_time now) {
    if (idle(key, now))
        return std::nullopt;
    auto& e = at(key, now);
    if (!e.bucket)
        return std::nullopt;
    if (e.adaptive.suspended(now))
        return allowance{0, e.adaptive.suspended_until()};
    auto n = static_cast<std::size_t>(std::floor(e.bucket->available(now)));
    return allowance{n, now + e.bucket->wait_for(now, static_cast<double>(n + 1))};
}

bool throttles::take(std::string_view key, steady_time now, std::string_view source) {
    if (!source.empty()) {
        auto k = source_key(key, source);
        if (entries_.count(k) && !idle(k, now)) {
            auto& e = at(k, now);
            if (e.adaptive.suspended(now) || (e.bucket && !e.bucket->try_take(now)))
                return false;
        }
    }
    if (idle(key, now))
        return true;
    auto& e = at(key, now);
    if (e.adaptive.suspended(now))
        return false;
    return !e.bucket || e.bucket->try_take(now);
}

std::optional<throttle_change> throttles::on_reply(
    std::string_view destination_key,
    const smtp::reply& reply,
    steady_time now,
    std::string_view source
) {
    const auto* rule = rules_.empty() ? match_slowdown(reply) : match_slowdown(rules_, reply);
    if (!rule)
        return std::nullopt;
    auto key = source_key(destination_key, source);
    auto& e = at(key, now);
    auto change = e.adaptive.on_slow_down(now);
    if (!change.applied)
        return std::nullopt;
    e.last_slowdown = reply.enhanced.empty() ? fmt::format("{}", reply.code)
                                             : fmt::format("{} {}", reply.code, reply.enhanced);
    if (e.bucket)
        e.bucket->set_rate(e.configured.pace->per_second() * change.fraction, now);
    return throttle_change{std::move(key), change, rule};
}

void throttles::reconfigure(const config::config& c) {
    auto fresh = from(c, options_);
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (fresh.limits_for(it->first) == it->second.configured)
            ++it;
        else
            it = entries_.erase(it);
    }
    configured_ = std::move(fresh.configured_);
    rules_ = std::move(fresh.rules_);
}

void throttles::restore(
    std::string_view key,
    double fraction,
    steady_time until,
    unsigned repeats,
    std::string last_slowdown,
    steady_time now
) {
    auto& e = at(key, now);
    e.adaptive.restore(fraction, until, repeats);
    e.last_slowdown = std::move(last_slowdown);
    if (e.bucket)
        e.bucket->set_rate(e.configured.pace->per_second() * e.adaptive.fraction(now), now);
}

void throttles::suspend(std::string_view key, steady_time until, std::string why, steady_time now) {
    auto& e = at(key, now);
    e.adaptive.restore(e.adaptive.fraction(now), until, e.adaptive.repeats());
    e.last_slowdown = std::move(why);
}

std::vector<std::string> throttles::reset(std::string_view key) {
    std::vector<std::string> out;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->first == key ||
            (!is_source_key(key) && base_key(it->first) == key && is_source_key(it->first))) {
            out.push_back(it->first);
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

throttles::state throttles::status(std::string_view key, steady_time now) {
    if (!entries_.count(key)) {
        state s;
        s.configured = limits_for(key);
        return s;
    }
    auto& e = at(key, now);
    return state{
        e.configured,
        e.adaptive.fraction(now),
        e.adaptive.suspended(now),
        e.adaptive.suspended_until(),
        e.adaptive.repeats(),
        e.last_slowdown};
}

}  // namespace outpost::shaping
