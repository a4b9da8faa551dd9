// Prometheus text exposition (format 0.0.4) and the daemon's metric set rendered with it. Pure:
// the caller gathers a snapshot, this turns it into text.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

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
    std::uint64_t destinations = 0;
    std::int64_t oldest_seconds = 0;  // age of the oldest queued message; 0 when the queue is empty
    std::uint64_t spool_files = 0;
    std::uint64_t spool_batches = 0;
    double uptime_seconds = 0;
};

// The whole /metrics body. Label sets are bounded: only queue state (three values) and the
// build version (one value) appear as labels.
std::string render_metrics(const metrics_snapshot& s);

}  // namespace outpost::admin
