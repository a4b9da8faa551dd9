// The shaper in front of delivery: for a batch of transactions to one destination, which
// throttle and warming counters it counts against, which transactions may go now and from which
// source IP, and which wait (why, and until when). The runner asks before it connects and tells
// the shaper what the receiver answered. Pure: clocks are passed in, the counters sit behind a
// counter_store. Not thread-safe: one per event loop.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"
#include "core/shaping/counters.hpp"
#include "core/shaping/pool.hpp"
#include "core/shaping/provider.hpp"
#include "core/shaping/throttle.hpp"

namespace outpost::shaping {

// Where a batch goes, as shaping sees it.
struct destination {
    std::string domain;
    std::string provider;  // a [[provider]] name, or default_provider
    std::string key;       // throttle key: "domain:D" or "provider:P"
    limits configured;
};

// Why something may not go now, and the earliest time it may.
struct wait {
    wall_time until{};
    std::string reason;
};

// The transactions of a batch (numbered 0..n-1 in the order given), split into those that go now,
// grouped by source IP (one connection each), and those that wait.
struct admission {
    struct group {
        std::optional<std::size_t> source;  // index into config.source_ips; nullopt: unbound
        std::string address;                // that [[source_ip]]'s address, when source is set
        std::vector<std::size_t> transactions;
        // On a warming IP, the counters each transaction took a unit of (for give_back).
        std::optional<counter_key> unit;
    };

    std::vector<group> groups;
    std::vector<std::size_t> waiting;
    std::optional<wait> why;  // set when waiting is not empty
    // Health gates that hold a warming IP back today (or stepped it back), once per IP ×
    // provider × day: "127.0.0.2 × google held on day 3: bounce rate 7.0% over 5.0% on ...".
    std::vector<std::string> notices;
};

// One throttle key's state, for outpostctl throttle status.
struct key_status {
    std::string key;
    limits configured;
    double fraction = 1;
    bool suspended = false;
    wall_time suspended_until{};
    unsigned repeats = 0;
    std::string last_slowdown;
    unsigned connections = 0;
};

// Today's use of one warming IP's cap for one provider.
struct warming_use {
    std::string ip;
    std::string provider;
    std::uint64_t sent = 0;
    std::optional<std::uint64_t> cap;  // nullopt: unlimited today
};

class shaper {
public:
    // store holds the warming counters and must outlive the shaper; it may be null when no
    // [[source_ip]] has a warming schedule. backoffs, when given, keeps each destination's
    // backoff across restarts: those still in force at now are taken back at once.
    shaper(
        const config::config& c,
        counter_store* store,
        throttle_store* backoffs = nullptr,
        wall_time wall = {},
        steady_time now = {}
    );

    // Takes a reloaded config: providers, warming and limits change at once; keys whose limits did
    // not change keep their buckets and backoffs, and the counters carry over (they are in the
    // store).
    void reconfigure(const config::config& c);

    // The destination of a recipient domain whose MX hosts are mx_hosts (preference order).
    destination classify(std::string_view domain, std::span<const std::string> mx_hosts) const;

    // Whether another connection to d may open now: its key is not suspended, not at its rate
    // limit, and below its max_connections. nullopt: it may.
    std::optional<wait> may_connect(const destination& d, wall_time wall, steady_time now);

    // How many transactions d's rate lets through now (nullopt: no rate), and the wait for the
    // rest: the runner reads no more messages than may go.
    struct allowance {
        std::size_t count = 0;
        wait rest;
    };

    std::optional<allowance> rate_allowance(const destination& d, wall_time wall, steady_time now);

    // Admits up to n transactions to d at now: each takes a token of d's rate and, on a warming
    // IP, one unit of its cap for d's provider. The first that may not go, and every one after
    // it, waits (they all count against the same key and provider).
    admission admit(const destination& d, std::size_t n, wall_time wall, steady_time now);

    // A connection to d opened or closed (max_connections counts them).
    void opened(const destination& d);
    void closed(const destination& d);

    // An operator suspends a throttle key (or one IP at it: "KEY@IP") for a while, or lifts its
    // backoff (suspension and rate cut alike, a key's with those of its IPs); both are kept
    // across restarts like any backoff.
    void suspend(
        std::string_view key, steady_time::duration length, wall_time wall, steady_time now
    );
    void resume(std::string_view key, wall_time wall);

    // A backoff that another node started (r.key may be a source key): taken, and kept across
    // restarts, unless this node's own backoff of the key already lasts as long. True when taken.
    bool adopt(const backoff_record& r, wall_time wall, steady_time now);

    // The backoff of key as it stands, for sharing with other nodes.
    backoff_record backoff_of(std::string_view key, wall_time wall, steady_time now);

    // A reply from d's receiver to mail sent from the source IP with this address (empty: no
    // source IP). A slow-down backs off that IP at d's key (the key itself without one); the
    // change is returned, for the log.
    std::optional<throttle_change> on_reply(
        const destination& d,
        const smtp::reply& reply,
        steady_time now,
        wall_time wall = {},
        std::string_view source = {}
    );

    // What became of mail sent from the source IP with this address to provider (deferred,
    // bounced at delivery, or a bounce or complaint that came back later): the health gates of
    // the warming schedule read these. By address, not index: a reload may reorder the pool
    // while a delivery is under way. Ignored for an IP no longer in the pool.
    void record(
        std::string_view source,
        std::string_view provider,
        wall_time when,
        const daily_counts& delta
    );

    // A transaction of a group with a warming unit never reached a receiver (no connection got
    // as far as MAIL): the unit goes back to the counters it was taken from (by key, so that a
    // reload in between changes nothing), so that unreachable or refusing MX hosts do not use
    // up a day's cap. False on a storage error.
    bool give_back(const counter_key& unit);

    // Every warming IP × provider ([[provider]] names and default) at wall.
    std::vector<warming_use> warming_usage(wall_time wall);

    // Every key that is configured or has been used, sorted.
    std::vector<key_status> status(wall_time wall, steady_time now);

private:
    void wire(const config::config& c);

    // The health-gate notices of one provider, each said once per judged day.
    std::vector<std::string> gate_notices(std::string_view provider, wall_time wall);

    memory_counter_store fallback_;  // when no store was given: warm IPs only, nothing to keep
    counter_store& store_;
    throttle_store* backoffs_;
    std::int64_t gates_hour_ = -1;                   // the hour gates_seen_ is about
    std::set<std::string, std::less<>> gates_seen_;  // "ip provider": looked at this hour
    std::set<std::string, std::less<>> gates_said_;  // "ip provider judged-day": logged
    provider_map providers_;
    std::optional<source_pool> pool_;
    throttles throttles_;
    std::map<std::string, unsigned, std::less<>> connections_;  // by key
};

}  // namespace outpost::shaping
