// The sending pool: which source IP sends the next message to a provider, under the warming caps,
// with the counters in a counter_store so that caps hold across restarts.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"
#include "core/shaping/counters.hpp"
#include "core/shaping/warming.hpp"

namespace outpost::shaping {

// The outcome of asking the pool for a source IP.
struct source_choice {
    std::optional<std::size_t> source;  // index into config.source_ips; nullopt: wait
    bool overflow = false;              // sent through an overflow pool IP
    // When source is nullopt: the earliest time an IP may have room (a paced slot later today or
    // the next local day), and why it waits, for queue show ("warming cap of 127.0.0.2 × google
    // reached (5 of 5), next slot at ..."). The message is deferred, not failed.
    wall_time next{};
    std::string reason;
    // When source is a warming IP: the counters the message took a unit of, for the shaper's
    // give_back() when no receiver sees the message.
    std::optional<counter_key> unit;
};

// The pool of [[source_ip]] entries. Order of preference for a message to a provider:
//   1. IPs on a warming schedule with room now (paced), in config order;
//   2. warm IPs (no schedule) that no schedule reserves as overflow;
//   3. the overflow IPs named by the schedules of warming IPs that are out of room.
// With no [[source_ip]] at all, source is nullopt with an empty reason: send from the default
// address, unshaped.
class source_pool {
public:
    // The pool copies what it needs from c; store (where the counters live) must outlive it. On a
    // reload, build a new pool over the same store: the counters carry over.
    source_pool(const config::config& c, counter_store& store, std::uint64_t burst = 10);

    // Why a member may not send to this destination now (its own backoff there), and until when;
    // nullopt: it may. The pool passes such a member over for the next in its order of preference.
    struct blocked_until {
        wall_time until{};
        std::string reason;
    };

    using blocked_fn = std::function<std::optional<blocked_until>(std::size_t source)>;

    // Chooses the IP for one message to provider at now and, for a warming IP, takes one unit of
    // its cap in the store (atomically: concurrent callers never exceed it). Members that blocked
    // names are skipped (no unit taken); when every member is out of room or blocked, the wait
    // names each reason and ends at the earliest of their ends.
    source_choice acquire(
        std::string_view provider, wall_time now, const blocked_fn& blocked = nullptr
    );

    // Records what happened to a message sent from source to provider (deferred, bounced, a
    // complaint), on the local day of when: the health gates read these. sent is counted by
    // acquire(); pass it here only for mail that did not go through acquire().
    bool record(
        std::size_t source, std::string_view provider, wall_time when, const daily_counts& delta
    );

    // Where a warming IP stands for provider at now (for warming status); nullopt for a warm IP.
    std::optional<room> status(std::size_t source, std::string_view provider, wall_time now);

    bool empty() const { return ips_.empty(); }

    std::size_t size() const { return ips_.size(); }

    const std::string& address(std::size_t source) const { return ips_.at(source).address; }

    // The index of the member with this address, as config.source_ips lists it.
    std::optional<std::size_t> index_of(std::string_view address) const;

private:
    struct member {
        std::string address;
        std::optional<schedule> plan;  // nullopt: warm
        day start{};
        bool reserved = false;  // named in some schedule's overflow
    };

    std::optional<room> assess_member(const member& m, std::string_view provider, wall_time now);

    std::vector<member> ips_;
    counter_store& store_;
    std::uint64_t burst_;
};

}  // namespace outpost::shaping
