// Process-wide event counters: bumped by the listener and the queue runner on any thread, read by
// the admin endpoint's /metrics. Relaxed atomics: each counter is monotonic on its own, and a
// scrape needs no consistency between counters.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::util {

// A monotonic counter (Prometheus "counter").
class counter {
public:
    void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }

    std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

// A latency distribution (Prometheus "histogram") over fixed bucket bounds in seconds.
class histogram {
public:
    static constexpr std::size_t max_buckets = 16;

    // Ascending upper bounds, at most max_buckets (the +Inf bucket is implicit).
    histogram(std::initializer_list<double> bounds);

    void observe(double seconds);

    struct snapshot {
        std::vector<double> bounds;
        std::vector<std::uint64_t> cumulative;  // per bound: observations <= it
        std::uint64_t count = 0;
        double sum = 0;  // seconds
    };

    snapshot read() const;

private:
    std::array<double, max_buckets> bounds_{};
    std::size_t size_ = 0;
    std::array<std::atomic<std::uint64_t>, max_buckets + 1> counts_{};
    std::atomic<std::uint64_t> sum_us_{0};
};

// Recipient outcomes per destination provider. The label set is bounded by the configured
// [[provider]] names and "default".
class provider_outcomes {
public:
    enum class outcome { delivered, deferred, bounced };

    void add(std::string_view provider, outcome o);

    // provider → {delivered, deferred, bounced}
    std::map<std::string, std::array<std::uint64_t, 3>> read() const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::array<std::uint64_t, 3>, std::less<>> counts_;
};

// A counter per label value, for a label whose values the code bounds (reasons, key classes).
class labeled_counter {
public:
    void add(std::string_view label);
    std::map<std::string, std::uint64_t> read() const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::uint64_t, std::less<>> counts_;
};

// The outcome of the last SIGHUP reload, for status and /metrics.
class reload_record {
public:
    void set(std::int64_t at, bool ok, std::string error);

    struct value {
        std::int64_t at = 0;  // unix seconds; 0: no reload since start
        bool ok = true;
        std::string error;
    };

    value read() const;

private:
    mutable std::mutex mutex_;
    value value_;
};

struct event_counters {
    counter messages_received;  // messages accepted and spooled (250 after DATA)
    counter rcpt_delivered;     // recipients a remote server accepted
    counter rcpt_deferred;      // recipient attempts that failed temporarily (retried later)
    counter rcpt_bounced;       // recipients that failed permanently or expired
    provider_outcomes by_provider;
    labeled_counter suppressions_added;  // by bounce reason (the classifier's vocabulary)
    labeled_counter rcpt_refused;        // by reason: relay, suppressed, syntax, storage, ...
    labeled_counter backoffs_started;    // by throttle key class: domain, provider
    // Recipients delivered, by the TLS policy in force: dane, mta-sts, mta-sts-testing, verify,
    // opportunistic, required, none.
    labeled_counter delivered_by_tls_policy;
    // MTA-STS checks that failed, by RFC 8460's result types (sts-policy-fetch-error,
    // certificate-host-mismatch, starttls-not-supported, ...), under enforce and testing alike.
    labeled_counter mta_sts_failures;
    // DANE checks that failed: tlsa-lookup (the TLSA look-up failed; the host was skipped),
    // tlsa-invalid (no record matched the certificate), starttls-not-supported, ...
    labeled_counter dane_failures;
    reload_record last_reload;
    // Signing a message at intake, on the worker pool (waiting for a worker included).
    histogram signing_seconds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
    // One SMTP transaction at delivery, from the start of its turn on the connection (the connect
    // and greeting count for the first) to its last reply.
    histogram transaction_seconds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    // Arrival to delivery of each delivered recipient: time spent queued, retries included.
    histogram delivery_delay_seconds{1, 5, 15, 60, 300, 900, 3600, 14400, 86400};
};

// The one set of counters of this process.
inline event_counters& metrics() {
    static event_counters all;
    return all;
}

}  // namespace outpost::util
