// Prometheus text exposition (format 0.0.4) and the daemon's metric set rendered with it. Pure:
// the caller gathers a snapshot, this turns it into text.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::admin {

struct label {
    std::string_view name;
    std::string_view value;
};

// Builds one exposition: describe() a family once, then add its samples.
class exposition {
public:
    // "# HELP name help" and "# TYPE name type" (type: counter, gauge, untyped).
    void describe(std::string_view name, std::string_view type, std::string_view help);

    void sample(std::string_view name, std::initializer_list<label> labels, std::uint64_t value);
    void sample(std::string_view name, std::initializer_list<label> labels, double value);

    // name_bucket{le=...} (cumulative, then +Inf), name_sum and name_count of one histogram.
    void histogram(
        std::string_view name,
        const std::vector<double>& bounds,
        const std::vector<std::uint64_t>& cumulative,
        std::uint64_t count,
        double sum
    );

    const std::string& text() const { return text_; }

private:
    void head(std::string_view name, std::initializer_list<label> labels);

    std::string text_;
};

// Escapes a label value: backslash, double quote and line feed (the format's three escapes).
std::string escape_label_value(std::string_view v);

// What /metrics reports, gathered by the daemon at scrape time.
struct metrics_snapshot {
    std::string version;
    std::uint64_t connections = 0;
    std::uint64_t messages_received = 0;
    std::uint64_t rcpt_delivered = 0;
    std::uint64_t rcpt_deferred = 0;
    std::uint64_t rcpt_bounced = 0;
    std::uint64_t jobs_ready = 0;
    std::uint64_t jobs_deferred = 0;
    std::uint64_t jobs_active = 0;
    std::uint64_t messages_held = 0;  // on hold (outpostctl queue hold): counted as messages
    std::uint64_t destinations = 0;
    std::int64_t oldest_seconds = 0;  // age of the oldest queued message; 0 when the queue is empty
    std::uint64_t spool_files = 0;
    std::uint64_t spool_batches = 0;
    double uptime_seconds = 0;

    struct provider_counts {
        std::string provider;
        std::uint64_t delivered = 0, deferred = 0, bounced = 0;
    };

    std::vector<provider_counts> by_provider;

    struct warming_row {
        std::string ip;
        std::string provider;
        std::uint64_t sent = 0;
        std::optional<std::uint64_t> cap;  // nullopt: unlimited today (no cap sample)
    };

    std::vector<warming_row> warming;

    std::map<std::string, std::uint64_t> suppressions_added;  // by reason
    // By the removed entry's reason, whoever removed it (kept in the list's file).
    std::map<std::string, std::uint64_t> suppressions_removed;
    std::map<std::string, std::uint64_t> rcpt_refused;      // by reason
    std::map<std::string, std::uint64_t> backoffs_started;  // by key class
    std::map<std::string, std::uint64_t> delivered_by_tls_policy;
    std::map<std::string, std::uint64_t> mta_sts_failures;  // by RFC 8460 result type
    std::map<std::string, std::uint64_t> dane_failures;     // the same, and tlsa-lookup
    std::int64_t last_reload_at = 0;                        // unix seconds; 0: none since start
    bool last_reload_ok = true;

    struct distribution {
        std::vector<double> bounds;
        std::vector<std::uint64_t> cumulative;
        std::uint64_t count = 0;
        double sum = 0;
    };

    // [cluster]: how this node sees the shared state; absent without [cluster].
    struct cluster_state {
        bool redis_up = false;
        bool degraded = false;
        double redis_latency_seconds = 0;
        std::uint64_t nodes = 0;
        std::uint64_t suppression_changes_applied = 0;
        std::uint64_t local_rate_decisions = 0;
    };

    std::optional<cluster_state> cluster;

    // [events]: the event log and its webhooks; absent when the log is off.
    struct webhook_state {
        std::string name;
        std::uint64_t sent = 0;
        std::uint64_t failures = 0;
        double lag_seconds = 0;
    };

    struct event_state {
        std::uint64_t appended = 0;
        std::uint64_t write_failures = 0;
        std::vector<webhook_state> webhooks;
    };

    std::optional<event_state> events;

    // [dmarc]: aggregate reports received since start, by what became of them.
    struct dmarc_state {
        std::uint64_t stored = 0;
        std::uint64_t duplicates = 0;
        std::uint64_t unreadable = 0;
    };

    std::optional<dmarc_state> dmarc_reports;

    // [dmarc]: per From domain of ours, over the last 7 days of reports.
    struct dmarc_domain {
        std::string domain;
        std::uint64_t messages = 0;
        std::uint64_t dkim_aligned = 0;
        std::uint64_t spf_aligned = 0;
        std::uint64_t dmarc_pass = 0;
        std::uint64_t foreign_sources = 0;
    };

    std::vector<dmarc_domain> dmarc_domains;

    distribution signing_seconds;
    distribution transaction_seconds;
    distribution delivery_delay_seconds;
};

// The whole /metrics body. Label sets are bounded: queue state (three values), the build version
// (one), destination providers (the configured [[provider]] names and default) and warming
// source IPs (the configured [[source_ip]] entries).
std::string render_metrics(const metrics_snapshot& s);

}  // namespace outpost::admin
