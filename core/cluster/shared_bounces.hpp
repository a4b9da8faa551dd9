// Bounce handling across nodes (queue/shared_bounces.hpp) on Redis: each node's VERP secret in
// the hash PREFIXverp:secrets (field: node name), written again at every connection; what a
// node sent with a VERP return path in PREFIXsent:NODE:QUEUEID (field: recipient index, value:
// the record as JSON), expiring after sent_ttl_seconds. Keys carry the node because queue ids
// are unique per node only; the secret that verifies a token tells which node made it.
// Anyone who can write to Redis can already edit the shared suppression list, so the secrets
// there widen nothing.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/cluster/redis_link.hpp"
#include "core/queue/shared_bounces.hpp"

namespace outpost::cluster {

inline constexpr int sent_ttl_seconds = 7 * 24 * 3600;

std::string verp_secrets_key(std::string_view prefix);
std::string sent_key(std::string_view prefix, std::string_view node, std::string_view queue_id);

// A sent record as stored (JSON) and read back; nullopt for anything else.
std::string format_sent(const suppression::sent_entry& e);
std::optional<suppression::sent_entry> parse_sent(
    std::string_view text, std::string_view queue_id, std::uint32_t index
);

class shared_bounces final : public queue::shared_bounces {
public:
    // commands: a command link not yet started (this publishes the secret each time it is up).
    shared_bounces(
        std::shared_ptr<redis_link> commands,
        std::string_view prefix,
        std::string node,
        std::string own_secret
    );

    const std::string& node() const override { return node_; }

    void publish_sent(std::span<const suppression::sent_entry> entries) override;
    boost::asio::awaitable<std::optional<std::vector<node_secret>>> secrets() override;
    boost::asio::awaitable<std::pair<lookup, suppression::sent_entry>> sent(
        std::string node, std::string queue_id, std::uint32_t index
    ) override;

private:
    std::shared_ptr<redis_link> commands_;
    std::string prefix_;
    std::string node_;
    std::string own_secret_;
};

}  // namespace outpost::cluster
