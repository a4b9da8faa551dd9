// What delivery asks of shaping state shared with other nodes ([cluster]): permits of a
// destination's rate counted cluster-wide, and backoffs made known to every node. The runner
// works without it (one node: its shaper alone decides).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "core/shaping/counters.hpp"
#include "core/shaping/rate.hpp"

namespace outpost::queue {

class shared_shaping {
public:
    virtual ~shared_shaping() = default;

    struct permits {
        std::size_t granted = 0;
        std::chrono::milliseconds wait{0};  // until the next permit, when fewer than wanted
        bool shared = true;  // false: Redis was unreachable and this node's share decided
    };

    // Up to wanted sends to throttle key at its configured pace, counted over the whole cluster.
    virtual boost::asio::awaitable<permits> acquire(
        const std::string& key, const shaping::rate& pace, std::size_t wanted
    ) = 0;

    // Gives back permits acquire() granted that this node's own shaping then held back (its
    // token bucket, a warming cap, a backoff), so that they do not starve the other nodes.
    // shared: where the permits came from (permits::shared).
    virtual void refund(
        const std::string& key, const shaping::rate& pace, std::size_t unused, bool shared
    ) = 0;

    // One more connection to throttle key, counted over the whole cluster against max (the
    // key's max_connections): a lease to close, or nullopt when max are open already.
    virtual boost::asio::awaitable<std::optional<std::string>> open_connection(
        const std::string& key, unsigned max
    ) = 0;
    virtual void close_connection(const std::string& key, const std::string& lease) = 0;

    // This node's shaper started (or lengthened) a backoff: every node is to take it.
    virtual void backoff_started(const shaping::backoff_record& r) = 0;
};

}  // namespace outpost::queue
