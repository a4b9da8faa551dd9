// The warming counters of a cluster: a daily cap of one source IP × provider holds for all nodes
// together, and the health gates read what every node saw.
//
// Redis keeps one hash per IP × provider (PREFIXwarm:IP|PROVIDER, fields "YYYY-MM-DD:sent",
// ":reserved", ":deferred", ":bounced", ":complaints"). A node never sends on units it has not
// reserved: a Lua script adds a small batch to the day's "reserved" only while sent + reserved
// stays within the cap, and the node spends its reservation locally (take() stays synchronous
// and cheap, as the shaper needs), moving each unit from reserved to sent in Redis. A
// reservation left unused for a few seconds goes back. So the cap is never exceeded, however
// many nodes send; an IP moved to another node keeps its day; and the caps and gates every node
// reads count what was sent, not what another node holds in reserve (a node that finds the cap
// reserved elsewhere retries every second, not tomorrow). The local SQLite store keeps this
// node's own counts as before.
//
// With Redis away, take() fails once the reservation is spent: warming IPs stop (the shaper
// retries every second) rather than risk a cap; warm IPs are not affected.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "core/cluster/redis_link.hpp"
#include "core/shaping/counters.hpp"

namespace outpost::cluster {

// The hash of ip × provider, and the field of one count of a day.
std::string warming_key(std::string_view prefix, std::string_view ip, std::string_view provider);
std::string warming_field(shaping::day d, std::string_view count);

// An HGETALL of such a hash as counts by day (unknown fields are skipped).
std::map<shaping::day, shaping::daily_counts> parse_warming_hash(
    const std::vector<std::string>& fields_and_values
);

// The command that raises field of hash to at least value (never lowers it).
command_args raise_field(std::string hash, std::string field, std::uint64_t value);

// raise_field for each count of day d of ip × provider that is not zero: putting back counts
// Redis lost, or copying a node's own into Redis (outpostctl cluster migrate).
std::vector<command_args> raise_counts(
    std::string_view prefix,
    std::string_view ip,
    std::string_view provider,
    shaping::day d,
    const shaping::daily_counts& counts
);

// How many units to reserve at once: a share of what is left, so that several nodes can all
// send, at least 1 and at most 20.
std::uint64_t reservation_batch(std::uint64_t cap, std::uint64_t sent, std::size_t nodes);

class shared_counters final : public shaping::counter_store {
public:
    using nodes_fn = std::function<std::size_t()>;

    shared_counters(
        shaping::counter_store& local,
        std::shared_ptr<redis_link> commands,
        std::string_view prefix,
        nodes_fn nodes
    );
    ~shared_counters() override;

    bool add(const shaping::counter_key& key, const shaping::daily_counts& delta) override;
    bool take(const shaping::counter_key& key, std::uint64_t cap) override;
    bool give_back(const shaping::counter_key& key) override;
    shaping::daily_counts get(const shaping::counter_key& key) override;
    std::map<shaping::day, shaping::daily_counts> history(
        std::string_view ip, std::string_view provider, shaping::day from, shaping::day to
    ) override;

    std::string last_error() const override { return local_.last_error(); }

    // Units reserved from Redis and not yet spent, over all keys.
    std::uint64_t reserved() const;

    // Gives every unit held back to Redis (before the node stops).
    void return_all();

private:
    struct reservation {
        std::uint64_t units = 0;
        std::uint64_t cap = 0;  // the cap the units were reserved under
        std::chrono::steady_clock::time_point last_used{};
        bool asking = false;
    };

    void reserve(const shaping::counter_key& key, std::uint64_t cap);
    void settle(const shaping::counter_key& key, std::int64_t spent, std::int64_t returned);
    void restore();
    void refresh(const std::string& ip, const std::string& provider);
    void tick();

    shaping::counter_store& local_;
    std::shared_ptr<redis_link> commands_;
    std::string prefix_;
    nodes_fn nodes_;
    std::map<std::string, reservation> reservations_;   // by "ip|provider|day"
    std::map<std::string, shaping::counter_key> keys_;  // the same keys
    // The cluster's counts by "ip|provider", as last read from Redis.
    std::map<std::string, std::map<shaping::day, shaping::daily_counts>> cluster_;
    std::set<std::string> loaded_;  // pairs whose counts have been read at least once
    boost::asio::steady_timer timer_;
    std::shared_ptr<bool> alive_;
};

}  // namespace outpost::cluster
