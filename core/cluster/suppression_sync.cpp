#include "core/cluster/suppression_sync.hpp"

#include <charconv>
#include <map>

#include <fmt/format.h>

#include "core/suppression/csv.hpp"

namespace outpost::cluster {

suppression_keys::suppression_keys(std::string_view prefix)
    : entries(fmt::format("{}suppression", prefix)),
      removed(fmt::format("{}suppression:removed", prefix)),
      channel(fmt::format("{}suppression", prefix)) {}

std::string encode_entry(const suppression::entry& e) {
    return suppression::csv_row(e);
}

std::optional<suppression::entry> decode_entry(std::string_view row) {
    auto text = fmt::format("{}\n{}\n", suppression::csv_header, row);
    auto read = suppression::read_csv_entries(text, {});
    if (!read.problems.empty() || read.entries.size() != 1)
        return std::nullopt;
    return read.entries.front();
}

std::vector<command_args> put_commands(
    const suppression_keys& k, std::string_view node, const suppression::entry& e
) {
    auto key = suppression::match_key(e.address);
    return {
        {"HSET", k.entries, key, encode_entry(e)},
        {"HDEL", k.removed, key},
        {"PUBLISH", k.channel, fmt::format("{} +{}", node, key)},
    };
}

std::vector<command_args> remove_commands(
    const suppression_keys& k, std::string_view node, std::string_view address, std::int64_t now
) {
    auto key = suppression::match_key(address);
    return {
        {"HDEL", k.entries, key},
        {"HSET", k.removed, key, std::to_string(now)},
        {"PUBLISH", k.channel, fmt::format("{} -{}", node, key)},
    };
}

std::optional<change> parse_change(std::string_view payload) {
    auto space = payload.find(' ');
    if (space == std::string_view::npos || space == 0 || payload.size() < space + 3)
        return std::nullopt;
    auto sign = payload[space + 1];
    if (sign != '+' && sign != '-')
        return std::nullopt;
    change c;
    c.node = std::string(payload.substr(0, space));
    c.removed = sign == '-';
    c.key = std::string(payload.substr(space + 2));
    if (suppression::match_key(c.key) != c.key)
        return std::nullopt;
    return c;
}

sync_plan plan_sync(
    const std::vector<std::string>& shared_entries,
    const std::vector<std::string>& shared_removed,
    const std::vector<suppression::entry>& local
) {
    sync_plan plan;
    std::map<std::string, suppression::entry, std::less<>> remote;
    for (std::size_t i = 0; i + 1 < shared_entries.size(); i += 2) {
        auto e = decode_entry(shared_entries[i + 1]);
        if (!e || suppression::match_key(e->address) != shared_entries[i]) {
            ++plan.unreadable;
            continue;
        }
        remote.emplace(shared_entries[i], *e);
    }
    std::map<std::string, std::int64_t, std::less<>> removed;
    for (std::size_t i = 0; i + 1 < shared_removed.size(); i += 2) {
        std::int64_t when = 0;
        const auto& t = shared_removed[i + 1];
        if (std::from_chars(t.data(), t.data() + t.size(), when).ec == std::errc{})
            removed.emplace(shared_removed[i], when);
    }
    std::map<std::string, const suppression::entry*, std::less<>> mine;
    for (const auto& e : local) {
        auto key = suppression::match_key(e.address);
        mine.emplace(key, &e);
        auto gone = removed.find(key);
        auto there = remote.find(key);
        if (there == remote.end() && gone != removed.end() && gone->second >= e.last_seen) {
            plan.remove_locally.push_back(key);
            continue;
        }
        if (there == remote.end() || there->second.last_seen < e.last_seen ||
            there->second.count < e.count ||
            (e.severity == suppression::kind::hard &&
             there->second.severity != suppression::kind::hard))
            plan.publish.push_back(e);
    }
    for (const auto& [key, e] : remote) {
        // A row older than its tombstone (written by a node that had not heard of the removal).
        if (auto gone = removed.find(key); gone != removed.end() && gone->second >= e.last_seen)
            continue;
        auto it = mine.find(key);
        if (it == mine.end() || it->second->last_seen < e.last_seen ||
            it->second->count < e.count ||
            (e.severity == suppression::kind::hard &&
             it->second->severity != suppression::kind::hard))
            plan.merge_locally.push_back(e);
    }
    return plan;
}

}  // namespace outpost::cluster
