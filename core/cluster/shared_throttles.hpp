// Throttles shared by the nodes of a cluster on Redis:
//  - a destination's rate is one GCRA per throttle key (PREFIXrate:KEY holds its TAT), taken by
//    a Lua script in one atomic step, so two nodes together send no more than the rate allows;
//  - a backoff one node starts (a receiver's "slow down") is written to PREFIXbackoff:KEY
//    (expiring when it ends) and announced on the channel PREFIXbackoff, and every node takes
//    it; a node that (re)connects takes those in force.
// While Redis is unreachable each node keeps to its share of each rate (rate ÷ the nodes seen at
// the last heartbeat), counted locally with the same algorithm (core/shaping/gcra.hpp).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/steady_timer.hpp>

#include "core/cluster/key_scan.hpp"
#include "core/cluster/redis_link.hpp"
#include "core/queue/shared_shaping.hpp"

namespace outpost::cluster {

// A backoff as stored: "UNTIL_MS FRACTION REPEATS REPLY...", and back (nullopt when malformed).
std::string encode_backoff(const shaping::backoff_record& r);
std::optional<shaping::backoff_record> decode_backoff(std::string_view key, std::string_view text);

// The burst a rate allows at once: one second of it, at least 2 (as the local token bucket).
std::uint64_t burst_of(const shaping::rate& pace);
// µs between two permits of pace.
std::int64_t interval_of(const shaping::rate& pace);

class shared_throttles final : public queue::shared_shaping {
public:
    using adopt_fn = std::function<void(const shaping::backoff_record&)>;
    using nodes_fn = std::function<std::size_t()>;

    // commands as for shared_suppression; subscriber not yet started (this subscribes it to the
    // backoff channel). adopt is given every backoff another node starts; nodes says how many
    // nodes share the rates.
    shared_throttles(
        std::shared_ptr<redis_link> commands,
        redis_link& subscriber,
        std::string_view prefix,
        std::string node,
        adopt_fn adopt,
        nodes_fn nodes
    );
    ~shared_throttles() override;

    boost::asio::awaitable<permits> acquire(
        const std::string& key, const shaping::rate& pace, std::size_t wanted
    ) override;

    void refund(const std::string& key, const shaping::rate& pace, std::size_t unused, bool shared)
        override;

    boost::asio::awaitable<std::optional<std::string>> open_connection(
        const std::string& key, unsigned max
    ) override;
    void close_connection(const std::string& key, const std::string& lease) override;

    // Connection leases this node holds (in Redis, or locally while Redis was away).
    std::size_t leases() const { return leases_.size(); }

    void backoff_started(const shaping::backoff_record& r) override;

    // Permits decided locally because Redis was away, since start.
    std::uint64_t local_decisions() const { return local_decisions_; }

private:
    std::size_t local_connections(const std::string& key) const;
    // The nodes sharing the rates and connections (at least 1): this node's share without Redis.
    std::int64_t node_count() const;
    std::string rate_key(std::string_view key) const;
    std::string conn_key(std::string_view key) const;
    std::string backoff_key(std::string_view key) const;
    std::vector<std::string> gcra_command(
        const std::string& key, const shaping::rate& pace, std::size_t wanted
    ) const;
    permits local_share(const std::string& key, const shaping::rate& pace, std::size_t wanted);
    void heard(std::string_view payload);
    void fetch_and_adopt(const std::string& key);

    std::shared_ptr<redis_link> commands_;
    redis_link& subscriber_;
    std::string prefix_;
    std::string channel_;
    std::string node_;
    adopt_fn adopt_;
    nodes_fn nodes_;
    std::map<std::string, std::int64_t, std::less<>> local_tat_;  // by key, steady µs

    // Connection leases held: lease id → (key, taken while Redis was away). Renewed in Redis
    // every few seconds, so a node that dies lets its connections go after lease_ttl.
    struct held {
        std::string key;
        bool local = false;
    };

    std::map<std::string, held> leases_;
    std::uint64_t next_lease_ = 0;
    std::string instance_;
    boost::asio::steady_timer renew_timer_;
    std::shared_ptr<bool> alive_;
    void renew();
    std::uint64_t local_decisions_ = 0;
    // Every backoff in force, after each (re)connection of either link: this node may have
    // missed some.
    key_scan catch_up_;
};

}  // namespace outpost::cluster
