// Each node announces itself in Redis every 2 s: PREFIXnode:NAME (its state, expiring after
// 10 s) and its score in the sorted set PREFIXnodes (the time of its last beat), so that
// `outpostctl cluster status` can say which nodes are alive and how each sees the cluster, and
// each node knows how many share the throttles (its share of a rate while Redis is away).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/steady_timer.hpp>

#include "core/cluster/redis_link.hpp"

namespace outpost::cluster {

inline constexpr int node_ttl_seconds = 10;

std::string node_key(std::string_view prefix, std::string_view node);
std::string nodes_key(std::string_view prefix);

// A node's announcement as "key=value" words; parse_announcement reads it back.
std::string format_announcement(const std::map<std::string, std::string>& fields);
std::map<std::string, std::string> parse_announcement(std::string_view text);

class heartbeat {
public:
    // fields() is asked at each beat (suppression entries, last sync, latency...).
    heartbeat(
        std::shared_ptr<redis_link> commands,
        std::string_view prefix,
        std::string node,
        std::function<std::map<std::string, std::string>()> fields
    );
    void start();
    void stop();
    // Stops, and takes this node's announcement out of Redis at once (a graceful exit).
    void leave();

    // The nodes that beat in the last node_ttl_seconds, this one included, as of the last beat
    // Redis answered; 1 before any.
    std::size_t nodes() const { return nodes_; }

    // Announces now (after a change worth showing at once) and every 2 s from then on (setting
    // the timer again cancels the wait in progress).
    void beat();

private:
    std::shared_ptr<redis_link> commands_;
    std::string key_;
    std::string nodes_key_;
    std::string node_;
    std::size_t nodes_ = 1;
    std::string instance_;  // random, per process: tells two nodes of one name apart
    bool said_name_taken_ = false;
    bool announced_ = false;  // this process has written its announcement once
    std::function<std::map<std::string, std::string>()> fields_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
};

}  // namespace outpost::cluster
