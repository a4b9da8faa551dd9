#include "core/cluster/shared_counters.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/util/log.hpp"

namespace outpost::cluster {

namespace {

using clock = std::chrono::steady_clock;
constexpr auto idle_return = std::chrono::seconds(5);
constexpr auto tick_every = std::chrono::seconds(2);

// KEYS[1]: the IP × provider hash; ARGV: the day's sent and reserved fields, cap, batch.
// Reserves up to batch units while sent + reserved stays within cap; returns {units, sent}.
constexpr const char* reserve_script = R"lua(
local sent = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
local take = math.min(tonumber(ARGV[3]) - sent - reserved, tonumber(ARGV[4]))
if take > 0 then redis.call('HINCRBY', KEYS[1], ARGV[2], take) else take = 0 end
return {take, sent}
)lua";

// KEYS[1]: the hash; ARGV: sent field, reserved field, units spent (moved from reserved to
// sent; -1 moves a unit given back from sent to reserved), units returned (taken off reserved).
// reserved never goes below 0 (Redis may have lost it meanwhile).
constexpr const char* settle_script = R"lua(
if tonumber(ARGV[3]) ~= 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[3]) end
local left = redis.call('HINCRBY', KEYS[1], ARGV[2], -(tonumber(ARGV[3]) + tonumber(ARGV[4])))
if left < 0 then redis.call('HSET', KEYS[1], ARGV[2], 0) end
return left
)lua";

// KEYS[1]: the hash; ARGV: field, value. The field becomes the larger of both (after Redis lost
// data, the counts this node last read are put back).
constexpr const char* raise_script = R"lua(
local now = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > now then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
)lua";

std::string pair_id(std::string_view ip, std::string_view provider) {
    return fmt::format("{}|{}", ip, provider);
}

std::string key_id(const shaping::counter_key& k) {
    return fmt::format("{}|{}|{}", k.ip, k.provider, shaping::date_text(k.date));
}

shaping::daily_counts larger(const shaping::daily_counts& a, const shaping::daily_counts& b) {
    return {
        std::max(a.sent, b.sent), std::max(a.deferred, b.deferred), std::max(a.bounced, b.bounced),
        std::max(a.complaints, b.complaints)};
}

}  // namespace

std::string warming_key(std::string_view prefix, std::string_view ip, std::string_view provider) {
    return fmt::format("{}warm:{}", prefix, pair_id(ip, provider));
}

std::string warming_field(shaping::day d, std::string_view count) {
    return fmt::format("{}:{}", shaping::date_text(d), count);
}

std::map<shaping::day, shaping::daily_counts> parse_warming_hash(
    const std::vector<std::string>& fields_and_values
) {
    std::map<shaping::day, shaping::daily_counts> out;
    for (std::size_t i = 0; i + 1 < fields_and_values.size(); i += 2) {
        const auto& field = fields_and_values[i];
        const auto& value = fields_and_values[i + 1];
        auto colon = field.find(':');
        if (colon == std::string::npos)
            continue;
        auto d = shaping::parse_date(std::string_view(field).substr(0, colon));
        std::int64_t n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (!d || ec != std::errc{} || end != value.data() + value.size() || n < 0)
            continue;
        auto what = std::string_view(field).substr(colon + 1);
        auto& c = out[*d];
        auto v = static_cast<std::uint64_t>(n);
        if (what == "sent")
            c.sent = v;
        else if (what == "deferred")
            c.deferred = v;
        else if (what == "bounced")
            c.bounced = v;
        else if (what == "complaints")
            c.complaints = v;
    }
    return out;
}

command_args raise_field(std::string hash, std::string field, std::uint64_t value) {
    return {"EVAL", raise_script, "1", std::move(hash), std::move(field), std::to_string(value)};
}

std::vector<command_args> raise_counts(
    std::string_view prefix,
    std::string_view ip,
    std::string_view provider,
    shaping::day d,
    const shaping::daily_counts& counts
) {
    std::vector<command_args> out;
    auto hash = warming_key(prefix, ip, provider);
    for (auto [name, value] :
         {std::pair{"sent", counts.sent},
          {"deferred", counts.deferred},
          {"bounced", counts.bounced},
          {"complaints", counts.complaints}})
        if (value)
            out.push_back(raise_field(hash, warming_field(d, name), value));
    return out;
}

std::uint64_t reservation_batch(std::uint64_t cap, std::uint64_t sent, std::size_t nodes) {
    if (sent >= cap)
        return 1;  // the script grants nothing; 1 asks the least
    auto left = cap - sent;
    return std::clamp<std::uint64_t>(left / (4 * std::max<std::size_t>(nodes, 1)), 1, 20);
}

shared_counters::shared_counters(
    shaping::counter_store& local,
    std::shared_ptr<redis_link> commands,
    std::string_view prefix,
    nodes_fn nodes
)
    : local_(local),
      commands_(std::move(commands)),
      prefix_(prefix),
      nodes_(std::move(nodes)),
      timer_(commands_->executor()),
      alive_(std::make_shared<bool>(true)) {
    commands_->on_up([this, alive = alive_] {
        if (*alive)
            restore();
    });
    tick();
}

shared_counters::~shared_counters() {
    *alive_ = false;
    timer_.cancel();
}

bool shared_counters::add(const shaping::counter_key& key, const shaping::daily_counts& delta) {
    if (!local_.add(key, delta))
        return false;
    auto hash = warming_key(prefix_, key.ip, key.provider);
    auto ignore = [](std::optional<redis_value>) {};
    auto count = [&](const char* name, std::uint64_t n) {
        if (n)
            commands_->command(
                {"HINCRBY", hash, warming_field(key.date, name), std::to_string(n)}, ignore
            );
    };
    // Outcomes while Redis is away count here only; the gates of other nodes miss them.
    count("sent", delta.sent);
    count("deferred", delta.deferred);
    count("bounced", delta.bounced);
    count("complaints", delta.complaints);
    return true;
}

bool shared_counters::take(const shaping::counter_key& key, std::uint64_t cap) {
    auto pair = pair_id(key.ip, key.provider);
    // Not before the cluster's counts are known: the cap and the gates read them.
    if (!loaded_.count(pair)) {
        if (!cluster_.count(pair)) {
            cluster_[pair];
            refresh(key.ip, key.provider);
        }
        return false;
    }
    auto id = key_id(key);
    auto& r = reservations_[id];
    keys_.emplace(id, key);
    // The cap fell (a reload, a health gate) under what was reserved for it: give it all back.
    if (r.units > 0 && cap < r.cap) {
        settle(key, 0, static_cast<std::int64_t>(r.units));
        r.units = 0;
    }
    if (r.units == 0) {
        reserve(key, cap);
        return false;
    }
    if (!local_.add(key, shaping::daily_counts{1, 0, 0, 0}))
        return false;
    --r.units;
    r.last_used = clock::now();
    settle(key, 1, 0);
    if (r.units == 0)
        reserve(key, cap);  // the next one is likely wanted soon
    return true;
}

bool shared_counters::give_back(const shaping::counter_key& key) {
    if (!local_.give_back(key))
        return false;
    // Not sent after all: back from sent to this node's reservation, which goes back when idle.
    auto& r = reservations_[key_id(key)];
    keys_.emplace(key_id(key), key);
    ++r.units;
    r.last_used = clock::now();
    settle(key, -1, 0);
    return true;
}

shaping::daily_counts shared_counters::get(const shaping::counter_key& key) {
    auto mine = local_.get(key);
    auto pair = cluster_.find(pair_id(key.ip, key.provider));
    if (pair == cluster_.end())
        return mine;
    auto day = pair->second.find(key.date);
    return day == pair->second.end() ? mine : larger(mine, day->second);
}

std::map<shaping::day, shaping::daily_counts> shared_counters::history(
    std::string_view ip, std::string_view provider, shaping::day from, shaping::day to
) {
    auto out = local_.history(ip, provider, from, to);
    auto id = pair_id(ip, provider);
    auto pair = cluster_.find(id);
    if (pair == cluster_.end()) {
        // First sight of this pair: read it for next time.
        cluster_[id];
        refresh(std::string(ip), std::string(provider));
        return out;
    }
    for (const auto& [d, counts] : pair->second)
        if (d >= from && d <= to)
            out[d] = larger(out[d], counts);
    return out;
}

std::uint64_t shared_counters::reserved() const {
    std::uint64_t n = 0;
    for (const auto& [id, r] : reservations_)
        n += r.units;
    return n;
}

void shared_counters::reserve(const shaping::counter_key& key, std::uint64_t cap) {
    auto id = key_id(key);
    auto& r = reservations_[id];
    if (r.asking || !commands_->up())
        return;
    r.asking = true;
    auto sent = get(key).sent;
    auto batch = reservation_batch(cap, sent, nodes_ ? nodes_() : 1);
    commands_->command(
        {"EVAL", reserve_script, "1", warming_key(prefix_, key.ip, key.provider),
         warming_field(key.date, "sent"), warming_field(key.date, "reserved"), std::to_string(cap),
         std::to_string(batch)},
        [this, alive = alive_, id, key, cap](std::optional<redis_value> v) {
            if (!*alive)
                return;
            auto& res = reservations_[id];
            res.asking = false;
            if (!v || v->kind != redis_value::type::array || v->items.size() != 2) {
                if (v && v->is_error())
                    log::warn("cluster_warming_failed", {{"ip", key.ip}, {"error", v->text}});
                return;
            }
            auto granted = std::max<std::int64_t>(0, v->items[0].integer);
            res.units += static_cast<std::uint64_t>(granted);
            res.cap = cap;
            res.last_used = clock::now();
            auto& day = cluster_[pair_id(key.ip, key.provider)][key.date];
            day.sent = std::max<std::uint64_t>(
                day.sent, static_cast<std::uint64_t>(std::max<std::int64_t>(0, v->items[1].integer))
            );
        }
    );
}

// A unit spent is sent (Redis's count of sent mail is what the other nodes' gates and caps
// read); a unit returned is free again. Sent is raised before reserved is lowered, in one script.
void shared_counters::settle(
    const shaping::counter_key& key, std::int64_t spent, std::int64_t returned
) {
    // While Redis is away the unit was counted when it was reserved: still within the cap.
    commands_->command(
        {"EVAL", settle_script, "1", warming_key(prefix_, key.ip, key.provider),
         warming_field(key.date, "sent"), warming_field(key.date, "reserved"),
         std::to_string(spent), std::to_string(returned)},
        [](std::optional<redis_value>) {}
    );
}

void shared_counters::refresh(const std::string& ip, const std::string& provider) {
    if (!commands_->up())
        return;
    commands_->command(
        {"HGETALL", warming_key(prefix_, ip, provider)},
        [this, alive = alive_, id = pair_id(ip, provider)](std::optional<redis_value> v) {
            if (!*alive || !v || v->kind != redis_value::type::array)
                return;
            cluster_[id] = parse_warming_hash(texts_of(*v));
            loaded_.insert(id);
        }
    );
}

// After a (re)connection: if Redis lost the counts (a restart without persistence, a failover
// to a replica that lagged), the counts this node last read and the units it holds go back in,
// so no IP starts its day again. Then everything is read afresh.
void shared_counters::restore() {
    auto ignore = [](std::optional<redis_value>) {};
    for (const auto& [pair, days] : cluster_) {
        auto bar = pair.find('|');
        for (const auto& [d, c] : days)
            for (auto& command :
                 raise_counts(prefix_, pair.substr(0, bar), pair.substr(bar + 1), d, c))
                commands_->command(std::move(command), ignore);
    }
    for (const auto& [id, r] : reservations_)
        if (r.units > 0) {
            const auto& key = keys_.at(id);
            commands_->command(
                raise_field(
                    warming_key(prefix_, key.ip, key.provider), warming_field(key.date, "reserved"),
                    r.units
                ),
                ignore
            );
        }
    for (const auto& [pair, days] : cluster_) {
        auto bar = pair.find('|');
        refresh(pair.substr(0, bar), pair.substr(bar + 1));
    }
}

void shared_counters::return_all() {
    for (auto& [id, r] : reservations_)
        if (r.units > 0) {
            settle(keys_.at(id), 0, static_cast<std::int64_t>(r.units));
            r.units = 0;
        }
}

// Every few seconds: reservations left idle go back, and the cluster's counts are read again.
void shared_counters::tick() {
    auto now = clock::now();
    for (auto& [id, r] : reservations_) {
        if (r.units == 0 || r.asking || now - r.last_used < idle_return || !commands_->up())
            continue;
        settle(keys_.at(id), 0, static_cast<std::int64_t>(r.units));
        r.units = 0;
    }
    // Past days' reservations, spent or returned, are forgotten.
    auto yesterday = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) -
                     std::chrono::days(1);
    for (auto it = reservations_.begin(); it != reservations_.end();) {
        auto k = keys_.find(it->first);
        if (it->second.units == 0 && !it->second.asking &&
            (k == keys_.end() || k->second.date < yesterday)) {
            if (k != keys_.end())
                keys_.erase(k);
            it = reservations_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [id, counts] : cluster_) {
        auto bar = id.find('|');
        refresh(id.substr(0, bar), id.substr(bar + 1));
    }
    timer_.expires_after(tick_every);
    timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (!ec && *alive)
            tick();
    });
}

}  // namespace outpost::cluster
