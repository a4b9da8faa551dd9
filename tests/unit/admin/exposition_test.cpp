// The Prometheus text exposition and the daemon's metric set.
#include "core/admin/exposition.hpp"

#include <limits>
#include <map>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

using namespace outpost::admin;

namespace {

// Sample lines ("name{labels} value") keyed by everything before the value.
std::map<std::string, std::string> samples(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        auto space = line.rfind(' ');
        out[line.substr(0, space)] = line.substr(space + 1);
    }
    return out;
}

}  // namespace

TEST_CASE("label values escape backslash, double quote and line feed") {
    CHECK(escape_label_value("plain") == "plain");
    CHECK(escape_label_value("a\\b") == "a\\\\b");
    CHECK(escape_label_value("say \"hi\"") == "say \\\"hi\\\"");
    CHECK(escape_label_value("two\nlines") == "two\\nlines");
}

TEST_CASE("an exposition writes HELP and TYPE once, then samples with labels") {
    exposition e;
    e.describe("x_total", "counter", "Things.\nCounted \\ here.");
    e.sample("x_total", {}, std::uint64_t{3});
    e.sample("x_total", {{"kind", "a\"b"}, {"zone", "z"}}, std::uint64_t{4});
    CHECK(
        e.text() ==
        "# HELP x_total Things.\\nCounted \\\\ here.\n# TYPE x_total counter\n"
        "x_total 3\nx_total{kind=\"a\\\"b\",zone=\"z\"} 4\n"
    );
}

TEST_CASE("non-finite gauge values use the format's spellings") {
    exposition e;
    e.sample("g", {}, 0.0 / 1.0);
    e.sample("g", {}, 1.5);
    CHECK(e.text() == "g 0\ng 1.5\n");
    exposition f;
    f.sample("g", {}, std::numeric_limits<double>::infinity());
    f.sample("g", {}, -std::numeric_limits<double>::infinity());
    f.sample("g", {}, std::numeric_limits<double>::quiet_NaN());
    CHECK(f.text() == "g +Inf\ng -Inf\ng NaN\n");
}

TEST_CASE("the metric set reports every counter and gauge from the snapshot") {
    metrics_snapshot s;
    s.version = "1.2.3";
    s.connections = 2;
    s.messages_received = 17;
    s.rcpt_delivered = 11;
    s.rcpt_deferred = 5;
    s.rcpt_bounced = 1;
    s.jobs_ready = 3;
    s.jobs_deferred = 4;
    s.jobs_active = 1;
    s.destinations = 6;
    s.oldest_seconds = 120;
    s.spool_files = 17;
    s.spool_batches = 9;
    s.uptime_seconds = 42.5;
    auto text = render_metrics(s);
    auto m = samples(text);
    CHECK(m["outpost_connections"] == "2");
    CHECK(m["outpost_messages_received_total"] == "17");
    CHECK(m["outpost_messages_delivered_total"] == "11");
    CHECK(m["outpost_messages_deferred_total"] == "5");
    CHECK(m["outpost_messages_bounced_total"] == "1");
    CHECK(m["outpost_queue_jobs{state=\"ready\"}"] == "3");
    CHECK(m["outpost_queue_jobs{state=\"deferred\"}"] == "4");
    CHECK(m["outpost_queue_jobs{state=\"active\"}"] == "1");
    CHECK(m["outpost_queue_oldest_seconds"] == "120");
    CHECK(m["outpost_spool_batches_total"] == "9");
    CHECK(m["outpost_uptime_seconds"] == "42.5");
    CHECK(m["outpost_build_info{version=\"1.2.3\"}"] == "1");
    CHECK(text.find("# TYPE outpost_messages_received_total counter\n") != std::string::npos);
    CHECK(text.find("# TYPE outpost_queue_jobs gauge\n") != std::string::npos);
    // One TYPE line per family, even with several samples.
    std::size_t types = 0;
    for (auto at = text.find("# TYPE outpost_queue_jobs "); at != std::string::npos;
         at = text.find("# TYPE outpost_queue_jobs ", at + 1))
        ++types;
    CHECK(types == 1);
}

TEST_CASE("a negative oldest age (clock step) is reported as zero") {
    metrics_snapshot s;
    s.oldest_seconds = -5;
    CHECK(samples(render_metrics(s))["outpost_queue_oldest_seconds"] == "0");
}

TEST_CASE("providers, warming use and latency histograms are rendered with bounded labels") {
    metrics_snapshot s;
    s.by_provider.push_back({"google", 5, 2, 1});
    s.warming.push_back({"127.0.0.2", "google", 3, 5});
    s.warming.push_back({"127.0.0.2", "default", 7, std::nullopt});
    s.signing_seconds = {{0.001, 0.01}, {2, 3}, 4, 0.5};
    auto text = render_metrics(s);
    auto m = samples(text);
    CHECK(m["outpost_recipients_total{provider=\"google\",outcome=\"delivered\"}"] == "5");
    CHECK(m["outpost_recipients_total{provider=\"google\",outcome=\"deferred\"}"] == "2");
    CHECK(m["outpost_recipients_total{provider=\"google\",outcome=\"bounced\"}"] == "1");
    CHECK(m["outpost_warming_sent_today{ip=\"127.0.0.2\",provider=\"google\"}"] == "3");
    CHECK(m["outpost_warming_cap_today{ip=\"127.0.0.2\",provider=\"google\"}"] == "5");
    CHECK(m.count("outpost_warming_cap_today{ip=\"127.0.0.2\",provider=\"default\"}") == 0);
    CHECK(m["outpost_signing_seconds_bucket{le=\"0.001\"}"] == "2");
    CHECK(m["outpost_signing_seconds_bucket{le=\"0.01\"}"] == "3");
    CHECK(m["outpost_signing_seconds_bucket{le=\"+Inf\"}"] == "4");
    CHECK(m["outpost_signing_seconds_sum"] == "0.5");
    CHECK(m["outpost_signing_seconds_count"] == "4");
    CHECK(text.find("# TYPE outpost_signing_seconds histogram\n") != std::string::npos);
    CHECK(m["outpost_delivery_delay_seconds_count"] == "0");
}
