#include "core/admin/exposition.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include <fmt/format.h>

namespace outpost::admin {

namespace {

[[maybe_unused]] bool valid_name(std::string_view name) {
    if (name.empty())
        return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!(alpha || (i > 0 && c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

// HELP text escapes only backslash and line feed.
std::string escape_help(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

}  // namespace

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void exposition::describe(std::string_view name, std::string_view type, std::string_view help) {
    assert(valid_name(name));
    text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
}

void exposition::head(std::string_view name, std::initializer_list<label> labels) {
    assert(valid_name(name));
    text_ += name;
    if (labels.size() == 0) {
        text_ += ' ';
        return;
    }
    text_ += '{';
    bool first = true;
    for (const auto& l : labels) {
        assert(valid_name(l.name));
        if (!first)
            text_ += ',';
        first = false;
        text_ += fmt::format("{}=\"{}\"", l.name, escape_label_value(l.value));
    }
    text_ += "} ";
}

void exposition::sample(
    std::string_view name, std::initializer_list<label> labels, std::uint64_t value
) {
    head(name, labels);
    text_ += fmt::format("{}\n", value);
}

void exposition::sample(std::string_view name, std::initializer_list<label> labels, double value) {
    head(name, labels);
    if (std::isnan(value))
        text_ += "NaN\n";
    else if (std::isinf(value))
        text_ += value > 0 ? "+Inf\n" : "-Inf\n";
    else
        text_ += fmt::format("{}\n", value);
}

void exposition::histogram(
    std::string_view name,
    const std::vector<double>& bounds,
    const std::vector<std::uint64_t>& cumulative,
    std::uint64_t count,
    double sum
) {
    auto bucket = fmt::format("{}_bucket", name);
    for (std::size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
        auto le = fmt::format("{}", bounds[i]);
        sample(bucket, {{"le", le}}, cumulative[i]);
    }
    sample(bucket, {{"le", "+Inf"}}, count);
    sample(fmt::format("{}_sum", name), {}, sum);
    sample(fmt::format("{}_count", name), {}, count);
}

std::string render_metrics(const metrics_snapshot& s) {
    exposition e;
    e.describe("outpost_build_info", "gauge", "The running version (always 1).");
    e.sample("outpost_build_info", {{"version", s.version}}, std::uint64_t{1});
    e.describe("outpost_uptime_seconds", "gauge", "Seconds since outpostd started.");
    e.sample("outpost_uptime_seconds", {}, s.uptime_seconds);
    e.describe("outpost_connections", "gauge", "SMTP client connections open now.");
    e.sample("outpost_connections", {}, s.connections);
    e.describe(
        "outpost_messages_received_total", "counter",
        "Messages accepted and spooled (250 after DATA)."
    );
    e.sample("outpost_messages_received_total", {}, s.messages_received);
    e.describe(
        "outpost_messages_delivered_total", "counter", "Recipients a remote server accepted."
    );
    e.sample("outpost_messages_delivered_total", {}, s.rcpt_delivered);
    e.describe(
        "outpost_messages_deferred_total", "counter",
        "Recipient delivery attempts that failed temporarily and will be retried."
    );
    e.sample("outpost_messages_deferred_total", {}, s.rcpt_deferred);
    e.describe(
        "outpost_messages_bounced_total", "counter",
        "Recipients that failed permanently or expired (a DSN goes to the sender)."
    );
    e.sample("outpost_messages_bounced_total", {}, s.rcpt_bounced);
    e.describe(
        "outpost_queue_jobs", "gauge",
        "Queued jobs (one message's recipients at one destination) by state; active counts "
        "delivery batches in flight; held counts messages on hold."
    );
    e.sample("outpost_queue_jobs", {{"state", "ready"}}, s.jobs_ready);
    e.sample("outpost_queue_jobs", {{"state", "deferred"}}, s.jobs_deferred);
    e.sample("outpost_queue_jobs", {{"state", "active"}}, s.jobs_active);
    e.sample("outpost_queue_jobs", {{"state", "held"}}, s.messages_held);
    e.describe("outpost_queue_destinations", "gauge", "Destinations with queued or active jobs.");
    e.sample("outpost_queue_destinations", {}, s.destinations);
    e.describe(
        "outpost_queue_oldest_seconds", "gauge",
        "Age of the oldest queued message in seconds (0 when the queue is empty)."
    );
    e.sample(
        "outpost_queue_oldest_seconds", {},
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.oldest_seconds))
    );
    e.describe("outpost_spool_files_total", "counter", "Spool files written and made durable.");
    e.sample("outpost_spool_files_total", {}, s.spool_files);
    e.describe(
        "outpost_spool_batches_total", "counter",
        "Group commits of the spool writer (one fsync of the directory each)."
    );
    e.sample("outpost_spool_batches_total", {}, s.spool_batches);

    e.describe(
        "outpost_recipients_total", "counter",
        "Recipient outcomes by destination provider ([[provider]] name or default)."
    );
    for (const auto& p : s.by_provider) {
        e.sample(
            "outpost_recipients_total", {{"provider", p.provider}, {"outcome", "delivered"}},
            p.delivered
        );
        e.sample(
            "outpost_recipients_total", {{"provider", p.provider}, {"outcome", "deferred"}},
            p.deferred
        );
        e.sample(
            "outpost_recipients_total", {{"provider", p.provider}, {"outcome", "bounced"}},
            p.bounced
        );
    }
    e.describe(
        "outpost_config_last_reload_successful", "gauge",
        "Whether the last SIGHUP reload applied (1) or was refused (0); 1 before any."
    );
    e.sample(
        "outpost_config_last_reload_successful", {}, std::uint64_t{s.last_reload_ok ? 1u : 0u}
    );
    e.describe(
        "outpost_config_last_reload_timestamp_seconds", "gauge",
        "When the last SIGHUP reload was tried (unix seconds; 0: none since start)."
    );
    e.sample(
        "outpost_config_last_reload_timestamp_seconds", {},
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.last_reload_at))
    );
    if (s.cluster) {
        const auto& c = *s.cluster;
        e.describe(
            "outpost_cluster_redis_up", "gauge", "Whether the link to the cluster's Redis is up."
        );
        e.sample("outpost_cluster_redis_up", {}, std::uint64_t{c.redis_up ? 1u : 0u});
        e.describe(
            "outpost_cluster_degraded", "gauge",
            "1 while RCPT checks read a suppression list not synchronised with Redis."
        );
        e.sample("outpost_cluster_degraded", {}, std::uint64_t{c.degraded ? 1u : 0u});
        e.describe(
            "outpost_cluster_redis_latency_seconds", "gauge",
            "The last PING to Redis took this long."
        );
        e.sample("outpost_cluster_redis_latency_seconds", {}, c.redis_latency_seconds);
        e.describe(
            "outpost_cluster_nodes", "gauge", "Nodes seen at the last heartbeat, this one included."
        );
        e.sample("outpost_cluster_nodes", {}, c.nodes);
        e.describe(
            "outpost_cluster_suppression_changes_applied_total", "counter",
            "Suppression list changes heard from other nodes and merged here."
        );
        e.sample(
            "outpost_cluster_suppression_changes_applied_total", {}, c.suppression_changes_applied
        );
        e.describe(
            "outpost_cluster_rate_local_decisions_total", "counter",
            "Rate permits decided by this node's share because Redis was unreachable."
        );
        e.sample("outpost_cluster_rate_local_decisions_total", {}, c.local_rate_decisions);
    }
    if (s.dmarc_reports) {
        e.describe(
            "outpost_dmarc_reports_total", "counter",
            "DMARC aggregate reports received: stored, duplicate (already stored), unreadable "
            "(kept aside)."
        );
        e.sample("outpost_dmarc_reports_total", {{"result", "stored"}}, s.dmarc_reports->stored);
        e.sample(
            "outpost_dmarc_reports_total", {{"result", "duplicate"}}, s.dmarc_reports->duplicates
        );
        e.sample(
            "outpost_dmarc_reports_total", {{"result", "unreadable"}}, s.dmarc_reports->unreadable
        );
        e.describe(
            "outpost_dmarc_messages", "gauge",
            "Messages DMARC reports of the last 7 days counted for a From domain of ours: all, "
            "and those that passed DKIM aligned, SPF aligned, DMARC."
        );
        for (const auto& d : s.dmarc_domains) {
            e.sample(
                "outpost_dmarc_messages", {{"domain", d.domain}, {"result", "total"}}, d.messages
            );
            e.sample(
                "outpost_dmarc_messages", {{"domain", d.domain}, {"result", "dkim_aligned"}},
                d.dkim_aligned
            );
            e.sample(
                "outpost_dmarc_messages", {{"domain", d.domain}, {"result", "spf_aligned"}},
                d.spf_aligned
            );
            e.sample(
                "outpost_dmarc_messages", {{"domain", d.domain}, {"result", "dmarc_pass"}},
                d.dmarc_pass
            );
        }
        e.describe(
            "outpost_dmarc_foreign_sources", "gauge",
            "Source IPs, not ours, that the last 7 days of reports saw sending as a domain of ours."
        );
        for (const auto& d : s.dmarc_domains)
            e.sample("outpost_dmarc_foreign_sources", {{"domain", d.domain}}, d.foreign_sources);
    }
    if (s.events) {
        const auto& ev = *s.events;
        e.describe("outpost_events_total", "counter", "Events written to the event log.");
        e.sample("outpost_events_total", {}, ev.appended);
        e.describe(
            "outpost_events_write_failures_total", "counter",
            "Events that could not be written to the event log (disk full)."
        );
        e.sample("outpost_events_write_failures_total", {}, ev.write_failures);
        if (!ev.webhooks.empty()) {
            e.describe(
                "outpost_webhook_events_sent_total", "counter",
                "Events a webhook's receiver acknowledged."
            );
            for (const auto& w : ev.webhooks)
                e.sample("outpost_webhook_events_sent_total", {{"webhook", w.name}}, w.sent);
            e.describe(
                "outpost_webhook_failures_total", "counter", "Requests to a webhook that failed."
            );
            for (const auto& w : ev.webhooks)
                e.sample("outpost_webhook_failures_total", {{"webhook", w.name}}, w.failures);
            e.describe(
                "outpost_webhook_lag_seconds", "gauge",
                "Age of the oldest event a webhook has not had acknowledged; 0 when caught up."
            );
            for (const auto& w : ev.webhooks)
                e.sample("outpost_webhook_lag_seconds", {{"webhook", w.name}}, w.lag_seconds);
        }
    }
    // A counter with one label, one sample per value seen.
    auto by_label = [&e](
                        std::string_view name, std::string_view help, std::string_view label,
                        const std::map<std::string, std::uint64_t>& counts
                    ) {
        e.describe(name, "counter", help);
        for (const auto& [value, n] : counts)
            e.sample(name, {{label, value}}, n);
    };
    by_label(
        "outpost_suppressions_added_total",
        "Addresses put on the suppression list by outpostd, by bounce reason.", "reason",
        s.suppressions_added
    );
    by_label(
        "outpost_suppressions_removed_total",
        "Addresses taken off the suppression list (outpostctl suppression remove), by the reason "
        "they were on it; counted in the list's file, so they survive restarts.",
        "reason", s.suppressions_removed
    );
    by_label(
        "outpost_rcpt_refused_total",
        "RCPT commands refused, by reason (relay, suppressed, syntax, storage, limit, policy, "
        "sequence).",
        "reason", s.rcpt_refused
    );
    by_label(
        "outpost_throttle_backoffs_total",
        "Slow-downs that suspended a throttle key, by key class (domain or provider).", "class",
        s.backoffs_started
    );
    by_label(
        "outpost_delivered_by_tls_policy_total",
        "Recipients delivered, by the TLS policy in force (dane, mta-sts, mta-sts-testing, "
        "verify, opportunistic, required, none).",
        "policy", s.delivered_by_tls_policy
    );
    by_label(
        "outpost_mta_sts_failures_total",
        "MTA-STS checks that failed, by RFC 8460 result type (sts-policy-fetch-error, "
        "sts-policy-invalid, certificate-host-mismatch, certificate-expired, "
        "certificate-not-trusted, validation-failure, starttls-not-supported, mx-mismatch).",
        "type", s.mta_sts_failures
    );
    by_label(
        "outpost_dane_failures_total",
        "DANE checks that failed: tlsa-lookup (the TLSA look-up failed, the MX host was skipped), "
        "tlsa-invalid (no TLSA record matched the certificate), starttls-not-supported, "
        "validation-failure.",
        "type", s.dane_failures
    );
    e.describe(
        "outpost_warming_sent_today", "gauge",
        "Messages sent today by a warming source IP to a provider (its local day)."
    );
    for (const auto& w : s.warming)
        e.sample("outpost_warming_sent_today", {{"ip", w.ip}, {"provider", w.provider}}, w.sent);
    e.describe(
        "outpost_warming_cap_today", "gauge",
        "Today's cap of a warming source IP for a provider (absent when unlimited)."
    );
    for (const auto& w : s.warming)
        if (w.cap)
            e.sample("outpost_warming_cap_today", {{"ip", w.ip}, {"provider", w.provider}}, *w.cap);

    auto histogram = [&](std::string_view name, std::string_view help,
                         const metrics_snapshot::distribution& d) {
        e.describe(name, "histogram", help);
        e.histogram(name, d.bounds, d.cumulative, d.count, d.sum);
    };
    histogram(
        "outpost_signing_seconds",
        "Time to DKIM-sign and ARC-seal one message at intake (waiting for a worker included).",
        s.signing_seconds
    );
    histogram(
        "outpost_smtp_transaction_seconds",
        "One SMTP transaction at delivery, from its turn on the connection (connect and greeting "
        "for the first) to its last reply.",
        s.transaction_seconds
    );
    histogram(
        "outpost_delivery_delay_seconds",
        "Arrival to delivery of each delivered recipient (time queued, retries included).",
        s.delivery_delay_seconds
    );
    return e.text();
}

}  // namespace outpost::admin
