// Per-destination rate throttles with adaptive backoff: which limits apply, and whether a message
// may go now. Pure: time is passed in.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"
#include "core/shaping/adaptive.hpp"
#include "core/shaping/rate.hpp"
#include "core/shaping/slowdown.hpp"

namespace outpost::shaping {

// The limits of one throttle key; an unset rate means no rate limit, 0 means no limit.
struct limits {
    std::optional<rate> pace;
    unsigned max_connections = 0;
    unsigned max_messages_per_connection = 0;

    bool operator==(const limits&) const = default;
};

// Whether one more message may go to a throttle key now.
struct throttle_verdict {
    bool may_send = true;
    steady_time not_before{};  // when !may_send
    std::string reason;        // "suspended by 421 4.7.0 backoff", "rate 60/min"
};

// A slow-down that changed the state of a key: log it ("each change is logged").
struct throttle_change {
    std::string key;
    backoff_change change;
    const slowdown_rule* rule = nullptr;
};

// All throttle keys of the running config. A recipient domain's key is "provider:P" when it
// belongs to a [[provider]] and no [[throttle]] names the domain itself, else "domain:D". A
// domain no [[throttle]] names gets the limits of the [[throttle]] with domain = "*", when there
// is one, each domain with its own bucket and backoff: one receiver's "slow down" never holds
// back another.
//
// A slow-down that came through one source IP backs off that IP × key alone ("KEY@IP", with the
// key's limits): a reputation complaint about one address (Gmail's 4.7.28) leaves the other IPs
// sending, still within the key's own rate, which every IP shares. Without a source IP (none
// configured) the key itself backs off. Not thread-safe: one per event loop.
class throttles {
public:
    throttles() = default;

    // Rates were validated by the config loader; the adaptive options apply to every key.
    static throttles from(const config::config& c, adaptive_options options = {});

    std::string key(std::string_view domain, std::string_view provider) const;

    // The key of one source IP's backoff at key: "KEY@IP"; key itself when source is empty.
    static std::string source_key(std::string_view key, std::string_view source);

    // The configured limits of a key (all zero/unset when nothing is configured); a source key
    // has its key's.
    limits limits_for(std::string_view key) const;

    // The configured keys and those used since, sorted; "default" stands for domain = "*".
    std::vector<std::string> keys() const;

    // May one message go to key at now? Does not take a token; see take().
    throttle_verdict check(std::string_view key, steady_time now);

    // May one message go to key from source at now, as far as that IP's own backoff there goes
    // (suspension, reduced share of the rate)? Takes nothing; check() still applies.
    throttle_verdict check_source(std::string_view key, std::string_view source, steady_time now);

    // How many sends key's rate allows at now, and when the next one after those may go;
    // nullopt when the key has no rate. Takes nothing.
    struct allowance {
        std::size_t count = 0;
        steady_time next{};
    };

    std::optional<allowance> allowed(std::string_view key, steady_time now);

    // Takes one token of key's bucket (and of source's reduced share there, when it has one);
    // false when check() would have said no. A bucket holds up to one second of its rate (at
    // least 2 tokens) and starts full.
    bool take(std::string_view key, steady_time now, std::string_view source = {});

    // Feeds a reply from key's receiver to mail sent from source (empty: no source IP): a
    // slow-down suspends source_key(key, source) and cuts its rate. The change when one was made
    // (log it), nullopt for normal replies and repeats during a suspension.
    std::optional<throttle_change> on_reply(
        std::string_view key,
        const smtp::reply& reply,
        steady_time now,
        std::string_view source = {}
    );

    // Takes the limits of a reloaded config: keys whose limits did not change keep their buckets
    // and backoffs (a SIGHUP must not release a suspended destination); the others start afresh.
    void reconfigure(const config::config& c);

    // Takes back a backoff kept across a restart (until is in steady time).
    void restore(
        std::string_view key,
        double fraction,
        steady_time until,
        unsigned repeats,
        std::string last_slowdown,
        steady_time now
    );

    // Forgets key's backoff and those of every source IP at key (operator action); a source key
    // forgets that IP's alone. Returns the keys whose backoff was in memory.
    std::vector<std::string> reset(std::string_view key);

    // An operator's suspension of key until then, whatever its receiver says (the rate share and
    // repeat count stay as they are); why is shown as the last slow-down.
    void suspend(std::string_view key, steady_time until, std::string why, steady_time now);

    // Current state, for outpostctl throttle status.
    struct state {
        limits configured;
        double fraction = 1;  // of the configured rate, after adaptive decrease
        bool suspended = false;
        steady_time suspended_until{};
        unsigned repeats = 0;
        std::string last_slowdown;  // the reply that started the current (or last) suspension
    };

    state status(std::string_view key, steady_time now);

private:
    struct entry {
        limits configured;
        adaptive_rate adaptive;
        std::optional<token_bucket> bucket;
        std::string last_slowdown;  // the reply that started the current suspension
    };

    entry& at(std::string_view key, steady_time now);
    // True when key limits nothing now (no rate, no backoff in force or recovering); forgets
    // its entry then.
    bool idle(std::string_view key, steady_time now);

    std::map<std::string, limits, std::less<>> configured_;
    // The operator's rows ([shaping] slowdown_table) then the built-in ones; empty: built-in only.
    std::vector<slowdown_rule> rules_;
    std::map<std::string, entry, std::less<>> entries_;
    adaptive_options options_;
};

}  // namespace outpost::shaping
