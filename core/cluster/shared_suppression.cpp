#include "core/cluster/shared_suppression.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "core/util/log.hpp"

namespace outpost::cluster {

shared_suppression::shared_suppression(
    std::unique_ptr<suppression::store> local,
    std::shared_ptr<redis_link> commands,
    redis_link& subscriber,
    std::string_view prefix,
    std::string node,
    clock_fn now
)
    : local_(std::move(local)),
      commands_(std::move(commands)),
      subscriber_(subscriber),
      keys_(prefix),
      node_(std::move(node)),
      now_(std::move(now)) {
    subscriber.subscribe(keys_.channel, [this](std::string_view payload) { heard(payload); });
    // A message published while the subscriber was away is lost, so either link's return starts
    // a resynchronisation; it runs once both are up (the subscription first, then the read), so
    // the start-up, when both links come up, reads the list once.
    subscriber.on_up([this] { resync(); });
    commands_->on_up([this] { resync(); });
}

bool shared_suppression::add(const suppression::entry& e) {
    if (!local_->add(e))
        return false;
    publish_key(suppression::match_key(e.address));
    return true;
}

bool shared_suppression::add_all(std::span<const suppression::entry> entries) {
    if (!local_->add_all(entries))
        return false;
    for (const auto& e : entries)
        publish_key(suppression::match_key(e.address));
    return true;
}

bool shared_suppression::remove(std::string_view address) {
    if (!local_->remove(address))
        return false;
    send_all(remove_commands(keys_, node_, address, now_()));
    return true;
}

void shared_suppression::publish_key(const std::string& key) {
    // What the local store holds after the merge, not what was asked: the shared row is the
    // merged one.
    if (auto e = local_->lookup(key))
        publish(*e);
}

void shared_suppression::publish(const suppression::entry& e) {
    send_all(put_commands(keys_, node_, e));
}

void shared_suppression::send_all(std::vector<command_args> commands) {
    // While Redis is away the change stays in the local list alone; the resynchronisation after
    // the link returns publishes it.
    for (auto& c : commands)
        commands_->command(std::move(c), [](std::optional<redis_value>) {});
}

// What another node changed is read back on the command link, in the order heard: a removal
// heard after an addition is applied after it.
void shared_suppression::heard(std::string_view payload) {
    auto c = parse_change(payload);
    if (!c || c->node == node_)
        return;
    auto& hash = c->removed ? keys_.removed : keys_.entries;
    commands_->command(
        {"HGET", hash, c->key},
        [this, removed = c->removed, key = c->key, from = c->node](std::optional<redis_value> v) {
            if (!v)
                return;
            if (removed)
                remove_heard(key, from, *v);
            else
                merge_fetched(key, from, *v);
        }
    );
}

void shared_suppression::remove_heard(
    const std::string& key, const std::string& from, const redis_value& when
) {
    std::int64_t at = 0;
    if (when.kind != redis_value::type::string ||
        std::from_chars(when.text.data(), when.text.data() + when.text.size(), at).ec !=
            std::errc{})
        return;
    auto& known = removed_[key];
    known = std::max(known, at);
    // Suppressed here again since the removal: that stays (and is published at the next sync).
    auto mine = local_->lookup(key);
    if (!mine || mine->last_seen > at || !local_->remove(key))
        return;
    ++applied_;
    log::info("suppression_shared_removal", {{"rcpt", key}, {"from_node", from}});
}

void shared_suppression::merge_fetched(
    const std::string& key, const std::string& from, const redis_value& row
) {
    if (row.kind != redis_value::type::string)
        return;
    auto e = decode_entry(row.text);
    if (!e || suppression::match_key(e->address) != key)
        return;
    if (auto gone = removed_.find(key); gone != removed_.end() && gone->second >= e->last_seen)
        return;
    if (!local_->add_all(std::span(&*e, 1)))
        return;
    ++applied_;
    log::info("suppression_shared_change", {{"rcpt", key}, {"from_node", from}});
    // Two nodes that wrote the same address at once: the last write won in Redis. If what this
    // node holds says more (hard, counted more, seen later), it publishes the merged entry.
    auto merged = local_->lookup(key);
    if (merged && (merged->severity != e->severity || merged->count != e->count ||
                   merged->last_seen != e->last_seen))
        publish(*merged);
}

void shared_suppression::resync() {
    if (!commands_->up() || !subscriber_.up())
        return;
    // One at a time. A read under way that began on the subscriber's current connection sees all
    // a second would (at start-up both links come up together); one that began before the
    // subscriber reconnected may have missed messages, so another follows it.
    if (syncing_) {
        again_ = again_ || subscriber_.connections() != synced_on_;
        return;
    }
    syncing_ = true;
    synced_on_ = subscriber_.connections();
    // Both hashes in one transaction, so a change between the two reads cannot split them.
    auto ignore = [](std::optional<redis_value>) {};
    commands_->command({"MULTI"}, ignore);
    commands_->command({"HGETALL", keys_.entries}, ignore);
    commands_->command({"HGETALL", keys_.removed}, ignore);
    commands_->command({"EXEC"}, [this](std::optional<redis_value> both) {
        syncing_ = false;
        if (both && both->kind == redis_value::type::array && both->items.size() == 2)
            apply_sync(texts_of(both->items[0]), texts_of(both->items[1]));
        if (std::exchange(again_, false))
            resync();
    });
}

void shared_suppression::apply_sync(
    const std::vector<std::string>& shared, const std::vector<std::string>& tombstones
) {
    auto plan = plan_sync(shared, tombstones, local_->list({}));
    bool ok = plan.merge_locally.empty() || local_->add_all(plan.merge_locally);
    for (const auto& key : plan.remove_locally)
        ok = local_->remove(key) && ok;
    // Publish from the merged list: what Redis lacks, or holds older.
    auto after = plan_sync(shared, tombstones, local_->list({}));
    for (const auto& e : after.publish)
        publish(e);
    if (!ok) {
        log::warn("suppression_sync_failed", {{"error", local_->last_error()}});
        return;
    }
    synced_ = true;
    last_sync_ = now_();
    log::info(
        "suppression_synced", {{"merged", plan.merge_locally.size()},
                               {"removed", plan.remove_locally.size()},
                               {"published", after.publish.size()},
                               {"unreadable", plan.unreadable},
                               {"entries", local_->size()}}
    );
    if (on_synced_)
        on_synced_();
}

}  // namespace outpost::cluster
