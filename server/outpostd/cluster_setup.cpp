#include "server/outpostd/cluster_setup.hpp"

#include <chrono>

#include "config/redis_url.hpp"
#include "core/cluster/endpoint.hpp"
#include "core/util/log.hpp"

namespace outpost::daemon {

namespace {

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

}  // namespace

cluster_parts join_cluster(
    boost::asio::io_context& io, const config::config& cfg, bounce_stores& stores
) {
    cluster_parts parts;
    if (!cfg.cluster)
        return parts;
    const auto& c = *cfg.cluster;
    auto endpoint = cluster::endpoint_for(c);
    parts.commands = cluster::redis_link::create(io.get_executor(), endpoint, "commands");
    parts.subscriber = cluster::redis_link::create(io.get_executor(), endpoint, "subscriber");
    auto shared = std::make_unique<cluster::shared_suppression>(
        std::move(stores.list), parts.commands, *parts.subscriber, c.key_prefix, c.node, unix_now
    );
    parts.suppression = shared.get();
    stores.list = std::move(shared);
    if (!cfg.bounce.domain.empty() && !stores.secrets.empty())
        parts.bounces = std::make_unique<cluster::shared_bounces>(
            parts.commands, c.key_prefix, c.node, stores.secrets.front()
        );
    return parts;
}

shaping::counter_store* share_counters(
    cluster_parts& parts, const config::config& cfg, shaping::counter_store& local
) {
    if (!parts.enabled())
        return &local;
    parts.counters = std::make_unique<cluster::shared_counters>(
        local, parts.commands, cfg.cluster->key_prefix,
        [count = parts.node_count] { return (*count)(); }
    );
    return parts.counters.get();
}

void start_cluster(
    cluster_parts& parts,
    const config::config& cfg,
    queue::runner& delivery,
    const std::string& version,
    report_intake* reports
) {
    if (!parts.enabled())
        return;
    const auto& c = *cfg.cluster;
    auto started = unix_now();
    auto* list = parts.suppression;
    auto* commands = parts.commands.get();
    parts.beat = std::make_unique<cluster::heartbeat>(parts.commands, c.key_prefix, c.node, [=] {
        return std::map<std::string, std::string>{
            {"version", version},
            {"started", std::to_string(started)},
            {"suppression_entries", std::to_string(list->size())},
            {"last_sync", std::to_string(list->last_sync())},
            {"latency_us", std::to_string(commands->latency().count())},
            {"degraded", list->degraded() ? "yes" : "no"},
        };
    });
    auto* beat = parts.beat.get();
    *parts.node_count = [beat] { return beat->nodes(); };
    parts.throttles = std::make_unique<cluster::shared_throttles>(
        parts.commands, *parts.subscriber, c.key_prefix, c.node,
        [&delivery](const shaping::backoff_record& r) { delivery.adopt_backoff(r); },
        [beat] { return beat->nodes(); }
    );
    delivery.set_shared_shaping(parts.throttles.get());
    list->on_synced([beat] { beat->beat(); });
    if (reports) {
        parts.reports = std::make_unique<cluster::shared_reports>(
            parts.commands, *parts.subscriber, c.key_prefix,
            [reports](const dmarc::report& r) { reports->merge(r); }
        );
        reports->on_stored([shared = parts.reports.get()](const dmarc::report& r) {
            shared->publish(r);
        });
    }
    log::info("cluster_joining", {{"redis", config::redact_redis_url(c.redis)}, {"node", c.node}});
    parts.commands->start();
    parts.subscriber->start();
    parts.beat->start();
}

cluster_parts::view cluster_parts::look(const config::config& cfg) const {
    view v;
    if (!enabled() || !cfg.cluster)
        return v;
    v.enabled = true;
    v.redis_up = commands->up();
    v.degraded = suppression->degraded();
    v.latency_seconds = static_cast<double>(commands->latency().count()) / 1e6;
    v.last_sync = suppression->last_sync();
    v.changes_applied = suppression->applied();
    v.nodes = beat ? beat->nodes() : 0;
    v.local_rate_decisions = throttles ? throttles->local_decisions() : 0;
    v.node = cfg.cluster->node;
    v.redis = config::redact_redis_url(cfg.cluster->redis);
    return v;
}

boost::asio::awaitable<void> cluster_parts::close(std::chrono::milliseconds limit) {
    // Handed to the command link before it closes, so they are written and answered.
    if (counters)
        counters->return_all();
    if (beat)
        beat->leave();
    if (subscriber)
        subscriber->stop();
    if (commands)
        co_await commands->close(limit);
}

void cluster_parts::stop() {
    if (beat)
        beat->stop();
    if (subscriber)
        subscriber->stop();
    if (commands)
        commands->stop();
}

}  // namespace outpost::daemon
