// [cluster]: the daemon's links to the shared Redis, the shared suppression list around the local
// one, and the node's heartbeat. Without [cluster] nothing is created and nothing changes.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "config/schema.hpp"
#include "core/cluster/heartbeat.hpp"
#include "core/cluster/redis_link.hpp"
#include "core/cluster/shared_bounces.hpp"
#include "core/cluster/shared_counters.hpp"
#include "core/cluster/shared_reports.hpp"
#include "core/cluster/shared_suppression.hpp"
#include "core/cluster/shared_throttles.hpp"
#include "core/queue/runner.hpp"
#include "server/outpostd/bounce_setup.hpp"
#include "server/outpostd/dmarc_setup.hpp"

namespace outpost::daemon {

struct cluster_parts {
    std::shared_ptr<cluster::redis_link> commands;
    std::shared_ptr<cluster::redis_link> subscriber;
    cluster::shared_suppression* suppression = nullptr;  // owned by bounce_stores::list
    std::unique_ptr<cluster::shared_throttles> throttles;
    std::unique_ptr<cluster::shared_counters> counters;
    std::unique_ptr<cluster::heartbeat> beat;
    // VERP secrets and sent records, when bounces come back ([bounce] domain).
    std::unique_ptr<cluster::shared_bounces> bounces;
    // DMARC aggregate reports, when [dmarc] reads them.
    std::unique_ptr<cluster::shared_reports> reports;
    // How many nodes share the cluster (the heartbeat's count once it runs): a holder that stays
    // put when cluster_parts is moved.
    std::shared_ptr<std::function<std::size_t()>> node_count =
        std::make_shared<std::function<std::size_t()>>([] { return std::size_t{1}; });

    bool enabled() const { return commands != nullptr; }

    // The state of the cluster as this node sees it, for /api/v1/status and the metrics.
    struct view {
        bool enabled = false;
        bool redis_up = false;
        bool degraded = false;  // suppression from the last synchronised list
        double latency_seconds = 0;
        std::int64_t last_sync = 0;
        std::uint64_t changes_applied = 0;
        std::size_t nodes = 0;                   // seen at the last heartbeat
        std::uint64_t local_rate_decisions = 0;  // rates decided without Redis
        std::string node;
        std::string redis;  // redacted URL
    };

    view look(const config::config& cfg) const;

    // After delivery has stopped: the last changes (a bounce heard while draining) are written
    // and answered, within limit, before the links close.
    boost::asio::awaitable<void> close(std::chrono::milliseconds limit);
    void stop();

    cluster_parts() = default;
    cluster_parts(cluster_parts&&) = default;
    cluster_parts& operator=(cluster_parts&&) = default;

    ~cluster_parts() { stop(); }
};

// With [cluster]: wraps stores.list in the shared list and shares the VERP secret and sent
// records. Nothing connects yet.
cluster_parts join_cluster(
    boost::asio::io_context& io, const config::config& cfg, bounce_stores& stores
);

// The warming counters delivery is to use: local itself without [cluster], else the cluster's
// counters over it (owned by parts).
shaping::counter_store* share_counters(
    cluster_parts& parts, const config::config& cfg, shaping::counter_store& local
);

// Shares delivery's throttles and starts connecting: the daemon serves at once, and the shared
// state synchronises when Redis answers.
void start_cluster(
    cluster_parts& parts,
    const config::config& cfg,
    queue::runner& delivery,
    const std::string& version,
    report_intake* reports = nullptr
);

}  // namespace outpost::daemon
