// What bounce handling asks of the other nodes ([cluster]): the VERP secret each node signs its
// return paths with, and each node's records of what it sent, so that a DSN or complaint that
// comes back to another node than the one that sent the message still verifies and names its
// recipient (the bounce domain's MX may be any node). One node works without it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/suppression/bounce_state.hpp"

namespace outpost::queue {

class shared_bounces {
public:
    virtual ~shared_bounces() = default;

    // This node's name in the cluster.
    virtual const std::string& node() const = 0;

    // Makes records of recipients this node sent with VERP return paths known to the others
    // (kept for a week: bounces come back within the senders' queue lifetimes).
    virtual void publish_sent(std::span<const suppression::sent_entry> entries) = 0;

    struct node_secret {
        std::string node;
        std::string secret;
    };

    // Every node's VERP secret; nullopt when the cluster cannot be asked now.
    virtual boost::asio::awaitable<std::optional<std::vector<node_secret>>> secrets() = 0;

    enum class lookup { found, absent, unreachable };
    // What node sent to recipient index of queue_id.
    virtual boost::asio::awaitable<std::pair<lookup, suppression::sent_entry>> sent(
        std::string node, std::string queue_id, std::uint32_t index
    ) = 0;
};

}  // namespace outpost::queue
