// The suppression list of a cluster: every node keeps the whole list in its own SQLite store (the
// cache that RCPT checks read, so a Redis outage never lets a suppressed address through or slows
// intake) and shares every change through Redis (suppression_sync.hpp): a change is written to
// the shared hash and announced on a channel, and each node merges what it hears. After each
// (re)connection a node merges the shared list into its own and publishes what Redis lacks, so
// nodes converge after an outage; the first connection of a node that ran alone publishes its
// whole list (that is the migration).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/cluster/redis_link.hpp"
#include "core/cluster/suppression_sync.hpp"
#include "core/suppression/store.hpp"

namespace outpost::cluster {

class shared_suppression final : public suppression::store {
public:
    using clock_fn = std::function<std::int64_t()>;  // unix seconds

    // commands is a started (or to be started) command link; subscriber a link not yet started:
    // this subscribes it to the list's channel and resynchronises on every connection of
    // commands. Both must outlive this store.
    shared_suppression(
        std::unique_ptr<suppression::store> local,
        std::shared_ptr<redis_link> commands,
        redis_link& subscriber,
        std::string_view prefix,
        std::string node,
        clock_fn now
    );

    bool add(const suppression::entry& e) override;
    bool add_all(std::span<const suppression::entry> entries) override;

    std::optional<suppression::entry> lookup(std::string_view address) override {
        return local_->lookup(address);
    }

    bool remove(std::string_view address) override;

    std::map<std::string, std::uint64_t> removed_by_reason() override {
        return local_->removed_by_reason();
    }

    std::vector<suppression::entry> list(const suppression::list_filter& filter) override {
        return local_->list(filter);
    }

    std::size_t size() override { return local_->size(); }

    std::string last_error() const override { return local_->last_error(); }

    // True from start until the first synchronisation, and while Redis is unreachable: RCPT
    // checks then read what was last synchronised.
    bool degraded() const { return !synced_ || !commands_->up() || !subscriber_.up(); }

    // Unix time of the last completed synchronisation; 0: none yet.
    std::int64_t last_sync() const { return last_sync_; }

    // Changes heard from other nodes and merged, since start.
    std::uint64_t applied() const { return applied_; }

    // Called after each completed synchronisation (the heartbeat announces it at once).
    void on_synced(std::function<void()> f) { on_synced_ = std::move(f); }

private:
    void publish(const suppression::entry& e);
    void publish_key(const std::string& key);
    void heard(std::string_view payload);
    void merge_fetched(const std::string& key, const std::string& from, const redis_value& row);
    void remove_heard(const std::string& key, const std::string& from, const redis_value& when);
    void resync();
    void apply_sync(
        const std::vector<std::string>& shared, const std::vector<std::string>& tombstones
    );
    void send_all(std::vector<command_args> commands);

    std::unique_ptr<suppression::store> local_;
    std::shared_ptr<redis_link> commands_;
    redis_link& subscriber_;
    suppression_keys keys_;
    // Removals heard from other nodes, by key: the time of each, so that an entry fetched for an
    // older "+KEY" does not come back after it.
    std::map<std::string, std::int64_t> removed_;
    std::string node_;
    clock_fn now_;
    bool synced_ = false;
    bool syncing_ = false;         // a resynchronisation's read is under way
    std::uint64_t synced_on_ = 0;  // the subscriber connection it began on
    bool again_ = false;           // another is due when it ends
    std::int64_t last_sync_ = 0;
    std::uint64_t applied_ = 0;
    std::function<void()> on_synced_;
};

}  // namespace outpost::cluster
