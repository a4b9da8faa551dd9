// How the suppression list is kept in Redis, shared by the daemon (asynchronously) and outpostctl
// (blocking): pure, commands as argv vectors.
//
// PREFIXsuppression            hash: match_key → the entry as one export CSV row
// PREFIXsuppression:removed    hash: match_key → unix time of its removal (a tombstone, so a node
//                              that was away does not bring a removed address back)
// PREFIXsuppression (channel)  "NODE +KEY" after an entry changed, "NODE -KEY" after a removal
//
// Entries merge as an import does (suppression::store::add_all): the larger count, the earlier
// first_seen, the later last_seen and its reason, hard over soft; so applying the same entry
// twice, or in any order, ends in the same list on every node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cluster/redis_value.hpp"
#include "core/suppression/store.hpp"

namespace outpost::cluster {

struct suppression_keys {
    std::string entries;  // hash
    std::string removed;  // hash
    std::string channel;

    explicit suppression_keys(std::string_view prefix);
};

// An entry's row, and back; nullopt for a row that does not parse.
std::string encode_entry(const suppression::entry& e);
std::optional<suppression::entry> decode_entry(std::string_view row);

// The command (one Lua script: atomic) that publishes e, as the local store now holds it, from
// node: the row under its match key unless a later removal is recorded, the removal lifted, the
// change announced.
std::vector<command_args> put_commands(
    const suppression_keys& k, std::string_view node, const suppression::entry& e
);
// The command (one script) that removes address (any spelling) at time now, from node: the row
// gone, a tombstone, the change announced.
std::vector<command_args> remove_commands(
    const suppression_keys& k, std::string_view node, std::string_view address, std::int64_t now
);

// A channel message: who sent it, and which key was added/changed or removed.
struct change {
    std::string node;
    bool removed = false;
    std::string key;
};

std::optional<change> parse_change(std::string_view payload);

// What a node does to bring its local list and the shared one together after (re)connecting:
// given the shared entries and tombstones (HGETALL results, field/value pairs) and the local
// entries, which remote entries to merge into the local list, which local addresses to remove
// (removed elsewhere since they were last seen), and which local entries to publish (missing or
// older in Redis).
struct sync_plan {
    std::vector<suppression::entry> merge_locally;
    std::vector<std::string> remove_locally;
    std::vector<suppression::entry> publish;
    std::size_t unreadable = 0;  // shared rows that did not parse (skipped)
};

sync_plan plan_sync(
    const std::vector<std::string>& shared_entries,  // HGETALL: key, row, key, row, ...
    const std::vector<std::string>& shared_removed,  // HGETALL: key, time, ...
    const std::vector<suppression::entry>& local
);

}  // namespace outpost::cluster
