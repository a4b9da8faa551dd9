#include "core/cluster/shared_throttles.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>
#include <utility>

#include <fmt/format.h>

#include "core/shaping/gcra.hpp"
#include "core/util/log.hpp"

namespace outpost::cluster {

namespace {

// core/shaping/gcra.cpp in Lua, with Redis's clock, so that every node counts against one TAT.
// KEYS[1]: the TAT key; ARGV: interval µs, burst, wanted. Returns {granted, wait µs}.
constexpr const char* gcra_script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.max(tonumber(ARGV[1]), 1)
local burst = math.max(tonumber(ARGV[2]), 1)
local wanted = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local limit = now + burst * interval
local granted = math.floor((limit - tat) / interval)
if granted < 0 then granted = 0 end
if granted > wanted then granted = wanted end
tat = tat + granted * interval
local wait = 0
if granted < wanted then wait = tat + interval - limit end
if granted > 0 then
  redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.floor((tat - now) / 1000) + 1000)
end
return {granted, wait}
)lua";

// KEYS[1]: the TAT key; ARGV: µs to take off. The TAT moves back, never before now.
constexpr const char* refund_script = R"lua(
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local back = math.max(now, tat - tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%d', back), 'KEEPTTL')
return 1
)lua";

// KEYS[1]: the backoff key; ARGV: the record, its end (unix ms), ms left. A shorter backoff never
// replaces a longer one.
constexpr const char* backoff_script = R"lua(
local old = redis.call('GET', KEYS[1])
if old then
  local until_ms = tonumber(string.match(old, '^(%d+) '))
  if until_ms and until_ms >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
)lua";

constexpr std::int64_t lease_ttl_ms = 30'000;
constexpr auto lease_renewal = std::chrono::seconds(10);

// KEYS[1]: the key's lease set; ARGV: max, lease id, ttl ms. Expired leases (of nodes that died)
// are dropped first; scores are expiry times by Redis's clock.
constexpr const char* lease_script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
)lua";

// KEYS[1]: the lease set; ARGV: lease id, ttl ms. Extends a lease still held.
constexpr const char* renew_script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
)lua";

std::int64_t steady_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch()
    )
        .count();
}

template <class T>
bool number(std::string_view text, T& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

std::string encode_backoff(const shaping::backoff_record& r) {
    auto until_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.until.time_since_epoch()).count();
    return fmt::format("{} {:.4f} {} {}", until_ms, r.fraction, r.repeats, r.last_slowdown);
}

std::optional<shaping::backoff_record> decode_backoff(std::string_view key, std::string_view text) {
    shaping::backoff_record r;
    r.key = std::string(key);
    std::string_view words[3];
    for (auto& w : words) {
        auto space = text.find(' ');
        if (space == std::string_view::npos)
            return std::nullopt;
        w = text.substr(0, space);
        text.remove_prefix(space + 1);
    }
    std::int64_t until_ms = 0;
    if (!number(words[0], until_ms) || !number(words[2], r.repeats))
        return std::nullopt;
    try {
        r.fraction = std::stod(std::string(words[1]));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (!(r.fraction > 0 && r.fraction <= 1))
        return std::nullopt;
    r.until = shaping::wall_time(std::chrono::duration_cast<shaping::wall_time::duration>(
        std::chrono::milliseconds(until_ms)
    ));
    r.last_slowdown = std::string(text);
    return r;
}

std::uint64_t burst_of(const shaping::rate& pace) {
    return std::max<std::uint64_t>(2, static_cast<std::uint64_t>(std::ceil(pace.per_second())));
}

std::int64_t interval_of(const shaping::rate& pace) {
    auto period = std::chrono::duration_cast<std::chrono::microseconds>(pace.period).count();
    return std::max<std::int64_t>(
        1, period / static_cast<std::int64_t>(std::max<std::uint64_t>(pace.count, 1))
    );
}

shared_throttles::shared_throttles(
    std::shared_ptr<redis_link> commands,
    redis_link& subscriber,
    std::string_view prefix,
    std::string node,
    adopt_fn adopt,
    nodes_fn nodes
)
    : commands_(std::move(commands)),
      subscriber_(subscriber),
      prefix_(prefix),
      channel_(fmt::format("{}backoff", prefix)),
      node_(std::move(node)),
      adopt_(std::move(adopt)),
      nodes_(std::move(nodes)),
      instance_(fmt::format("{:08x}", std::random_device{}())),
      renew_timer_(commands_->executor()),
      alive_(std::make_shared<bool>(true)),
      catch_up_(
          commands_,
          subscriber,
          fmt::format("{}backoff:*", prefix),
          [this](const std::string& key) {
              auto named = prefix_.size() + 8;  // "backoff:"
              if (key.size() > named)
                  fetch_and_adopt(key.substr(named));
          }
      ) {
    renew();
    subscriber.subscribe(channel_, [this](std::string_view payload) { heard(payload); });
}

std::vector<std::string> shared_throttles::gcra_command(
    const std::string& key, const shaping::rate& pace, std::size_t wanted
) const {
    std::vector<std::string> args;
    args.emplace_back("EVAL");
    args.emplace_back(gcra_script);
    args.emplace_back("1");
    args.push_back(rate_key(key));
    args.push_back(std::to_string(interval_of(pace)));
    args.push_back(std::to_string(burst_of(pace)));
    args.push_back(std::to_string(wanted));
    return args;
}

shared_throttles::~shared_throttles() {
    *alive_ = false;
    renew_timer_.cancel();
}

std::int64_t shared_throttles::node_count() const {
    return static_cast<std::int64_t>(std::max<std::size_t>(1, nodes_ ? nodes_() : 1));
}

std::string shared_throttles::rate_key(std::string_view key) const {
    return fmt::format("{}rate:{}", prefix_, key);
}

std::string shared_throttles::conn_key(std::string_view key) const {
    return fmt::format("{}conn:{}", prefix_, key);
}

std::string shared_throttles::backoff_key(std::string_view key) const {
    return fmt::format("{}backoff:{}", prefix_, key);
}

std::size_t shared_throttles::local_connections(const std::string& key) const {
    std::size_t n = 0;
    for (const auto& [id, h] : leases_)
        n += h.key == key;
    return n;
}

boost::asio::awaitable<std::optional<std::string>> shared_throttles::open_connection(
    const std::string& key, unsigned max
) {
    auto id = fmt::format("{}/{}/{}", node_, instance_, ++next_lease_);
    std::vector<std::string> args;
    args.emplace_back("EVAL");
    args.emplace_back(lease_script);
    args.emplace_back("1");
    args.push_back(conn_key(key));
    args.push_back(std::to_string(max));
    args.push_back(id);
    args.push_back(std::to_string(lease_ttl_ms));
    auto reply = co_await commands_->call(std::move(args));
    if (reply && reply->kind == redis_value::type::integer) {
        if (reply->integer != 1)
            co_return std::nullopt;
        leases_[id] = held{key, false};
        co_return id;
    }
    // Without Redis: this node's share of the connections, at least one.
    auto share = std::max<std::size_t>(1, max / static_cast<std::size_t>(node_count()));
    if (local_connections(key) >= share)
        co_return std::nullopt;
    leases_[id] = held{key, true};
    co_return id;
}

void shared_throttles::close_connection(const std::string& key, const std::string& lease) {
    auto it = leases_.find(lease);
    if (it == leases_.end())
        return;
    bool local = it->second.local;
    leases_.erase(it);
    if (!local)
        commands_->command({"ZREM", conn_key(key), lease}, [](std::optional<redis_value>) {});
}

void shared_throttles::renew() {
    if (commands_->up())
        for (const auto& [id, h] : leases_)
            if (!h.local)
                commands_->command(
                    {"EVAL", renew_script, "1", conn_key(h.key), id, std::to_string(lease_ttl_ms)},
                    [](std::optional<redis_value>) {}
                );
    renew_timer_.expires_after(lease_renewal);
    renew_timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (!ec && *alive)
            renew();
    });
}

boost::asio::awaitable<queue::shared_shaping::permits> shared_throttles::acquire(
    const std::string& key, const shaping::rate& pace, std::size_t wanted
) {
    if (wanted == 0)
        co_return permits{};
    auto reply = co_await commands_->call(gcra_command(key, pace, wanted));
    if (!reply || reply->kind != redis_value::type::array || reply->items.size() != 2) {
        if (reply && reply->is_error())
            log::warn("cluster_rate_failed", {{"key", key}, {"error", reply->text}});
        co_return local_share(key, pace, wanted);
    }
    permits p;
    p.granted = static_cast<std::size_t>(std::max<std::int64_t>(0, reply->items[0].integer));
    p.wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::microseconds(std::max<std::int64_t>(0, reply->items[1].integer)) +
        std::chrono::microseconds(999)
    );
    co_return p;
}

// Without Redis: this node's share of the rate, rate ÷ nodes, and of the burst.
queue::shared_shaping::permits shared_throttles::local_share(
    const std::string& key, const shaping::rate& pace, std::size_t wanted
) {
    auto nodes = node_count();
    auto burst = std::max<std::uint64_t>(1, burst_of(pace) / static_cast<std::uint64_t>(nodes));
    auto& tat = local_tat_[key];
    auto t = shaping::gcra(tat, steady_us(), interval_of(pace) * nodes, burst, wanted);
    tat = t.tat;
    ++local_decisions_;
    permits p;
    p.granted = t.granted;
    p.wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::microseconds(t.wait) + std::chrono::microseconds(999)
    );
    p.shared = false;
    return p;
}

void shared_throttles::refund(
    const std::string& key, const shaping::rate& pace, std::size_t unused, bool shared
) {
    if (unused == 0)
        return;
    if (!shared) {
        // Back to this node's share, whose permits are nodes intervals apart.
        auto nodes = node_count();
        auto it = local_tat_.find(key);
        if (it != local_tat_.end())
            it->second = std::max(
                steady_us(),
                it->second - interval_of(pace) * nodes * static_cast<std::int64_t>(unused)
            );
        return;
    }
    auto back = interval_of(pace) * static_cast<std::int64_t>(unused);
    commands_->command(
        {"EVAL", refund_script, "1", rate_key(key), std::to_string(back)},
        [](std::optional<redis_value>) {}
    );
}

void shared_throttles::backoff_started(const shaping::backoff_record& r) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    r.until - std::chrono::system_clock::now()
    )
                    .count();
    if (left <= 0)
        return;
    auto ignore = [](std::optional<redis_value>) {};
    auto until_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.until.time_since_epoch()).count();
    commands_->command(
        {"EVAL", backoff_script, "1", backoff_key(r.key), encode_backoff(r),
         std::to_string(until_ms), std::to_string(left)},
        ignore
    );
    commands_->command({"PUBLISH", channel_, fmt::format("{} {}", node_, r.key)}, ignore);
}

void shared_throttles::heard(std::string_view payload) {
    auto space = payload.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 >= payload.size())
        return;
    if (payload.substr(0, space) == node_)
        return;
    fetch_and_adopt(std::string(payload.substr(space + 1)));
}

void shared_throttles::fetch_and_adopt(const std::string& key) {
    commands_->command({"GET", backoff_key(key)}, [this, key](std::optional<redis_value> v) {
        if (!v || v->kind != redis_value::type::string)
            return;
        if (auto r = decode_backoff(key, v->text))
            adopt_(*r);
    });
}

}  // namespace outpost::cluster
