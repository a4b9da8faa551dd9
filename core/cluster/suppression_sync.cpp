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

namespace {

// KEYS: entries, removed; ARGV: key, row, last_seen, channel, message. A row never goes in over
// a later removal (a node republishing what it fetched just before the removal); a removal it
// is newer than is lifted.
constexpr const char* put_script = R"lua(
local gone = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
if gone > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
)lua";

// KEYS: entries, removed; ARGV: key, time, channel, message. Returns 1 when the row was there.
constexpr const char* remove_script = R"lua(
local was = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return was
)lua";

}  // namespace

std::vector<command_args> put_commands(
    const suppression_keys& k, std::string_view node, const suppression::entry& e
) {
    auto key = suppression::match_key(e.address);
    return {
        {"EVAL", put_script, "2", k.entries, k.removed, key, encode_entry(e),
         std::to_string(e.last_seen), k.channel, fmt::format("{} +{}", node, key)}};
}

std::vector<command_args> remove_commands(
    const suppression_keys& k, std::string_view node, std::string_view address, std::int64_t now
) {
    auto key = suppression::match_key(address);
    return {
        {"EVAL", remove_script, "2", k.entries, k.removed, key, std::to_string(now), k.channel,
         fmt::format("{} -{}", node, key)}};
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
