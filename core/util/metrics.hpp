// Process-wide event counters: bumped by the listener and the queue runner on any thread, read by
// the admin endpoint's /metrics. Relaxed atomics: each counter is monotonic on its own, and a
// scrape needs no consistency between counters.
#pragma once

#include <atomic>
#include <cstdint>

namespace outpost::util {

// A monotonic counter (Prometheus "counter").
class counter {
public:
    void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }

    std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

struct event_counters {
    counter messages_received;  // messages accepted and spooled (250 after DATA)
    counter rcpt_delivered;     // recipients a remote server accepted
    counter rcpt_deferred;      // recipient attempts that failed temporarily (retried later)
    counter rcpt_bounced;       // recipients that failed permanently or expired
};

// The one set of counters of this process.
inline event_counters& metrics() {
    static event_counters all;
    return all;
}

}  // namespace outpost::util
