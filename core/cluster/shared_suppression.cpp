#include "core/cluster/shared_suppression.hpp"

#include "core/util/log.hpp"

namespace outpost::cluster {

namespace {

std::vector<std::string> strings_of(const std::optional<redis_value>& v) {
    std::vector<std::string> out;
    if (v && v->kind == redis_value::type::array)
        for (const auto& item : v->items)
            out.push_back(item.text);
    return out;
}

}  // namespace

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
      keys_(prefix),
      node_(std::move(node)),
      now_(std::move(now)) {
    subscriber.subscribe(keys_.channel, [this](std::string_view payload) { heard(payload); });
    // A message published while the subscriber was away is lost: the subscriber's return starts
    // a resynchronisation as the command link's does.
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

void shared_suppression::heard(std::string_view payload) {
    auto c = parse_change(payload);
    if (!c || c->node == node_)
        return;
    if (c->removed) {
        if (local_->remove(c->key)) {
            ++applied_;
            log::info("suppression_shared_removal", {{"rcpt", c->key}, {"from_node", c->node}});
        }
        return;
    }
    commands_->command(
        {"HGET", keys_.entries, c->key},
        [this, key = c->key, from = c->node](std::optional<redis_value> v) {
            if (!v || v->kind != redis_value::type::string)
                return;
            auto e = decode_entry(v->text);
            if (!e || suppression::match_key(e->address) != key)
                return;
            if (local_->add_all(std::span(&*e, 1)))
                ++applied_;
        }
    );
}

void shared_suppression::resync() {
    if (!commands_->up())
        return;
    commands_->command({"HGETALL", keys_.entries}, [this](std::optional<redis_value> entries) {
        if (!entries || entries->kind != redis_value::type::array)
            return;
        commands_->command(
            {"HGETALL", keys_.removed},
            [this, shared = strings_of(entries)](std::optional<redis_value> removed) {
                if (!removed || removed->kind != redis_value::type::array)
                    return;
                auto tombstones = strings_of(removed);
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
        );
    });
}

}  // namespace outpost::cluster
