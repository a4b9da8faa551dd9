// outpostctl cluster status, and the Redis half of suppression edits (cluster_push.hpp).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "config/redis_url.hpp"
#include "core/cluster/endpoint.hpp"
#include "core/cluster/heartbeat.hpp"
#include "core/cluster/redis_blocking.hpp"
#include "core/cluster/shared_counters.hpp"
#include "core/cluster/suppression_sync.hpp"
#include "core/shaping/provider.hpp"
#include "core/suppression/sqlite_store.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/cluster_push.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

constexpr const char* usage =
    "usage: outpostctl cluster status [--format table|json]\n"
    "       outpostctl cluster migrate\n"
    "  With [cluster] redis = ... in the config: whether Redis answers and how fast (one PING\n"
    "  from here), the nodes that announced themselves in the last 10 s (version, start time,\n"
    "  suppression entries, last synchronisation, Redis latency, degraded or not) and the size of\n"
    "  the shared suppression list. Exit 1 when Redis cannot be reached, 2 without [cluster].\n"
    "  migrate copies this node's suppression list (SPOOL_DIR/suppression.sqlite) and warming\n"
    "  counts (SPOOL_DIR/shaping.sqlite, every [[source_ip]] with a schedule × provider, from\n"
    "  its warming_start) into Redis: entries are published (merged by every node, never over a\n"
    "  later removal), counts keep the larger where Redis has one already:\n"
    "  run it once per node when a running fleet turns [cluster] on, so that no IP starts its\n"
    "  day again from zero. Running it twice changes nothing. (outpostd also publishes its\n"
    "  suppression list on its first connection.)\n";

std::string node_name_of(const std::string& key, const std::string& prefix) {
    return key.substr(std::min(key.size(), prefix.size() + 5));
}

// A node's announcement comes from Redis: a value that is not a number prints as "-".
std::string latency_text(const std::string& us) {
    std::int64_t n = 0;
    if (std::from_chars(us.data(), us.data() + us.size(), n).ec != std::errc{} || us.empty())
        return "-";
    return fmt::format("{:.2f} ms", static_cast<double>(n) / 1000.0);
}

std::string sync_text(const std::string& unix_time) {
    std::int64_t n = 0;
    if (std::from_chars(unix_time.data(), unix_time.data() + unix_time.size(), n).ec !=
            std::errc{} ||
        n <= 0)
        return "never";
    return util::iso8601(n);
}

int status(context& ctx) {
    const auto& cfg = ctx.config();
    if (!cfg.cluster) {
        fmt::print(stderr, "outpostctl cluster: the config has no [cluster] section\n");
        return exit_usage;
    }
    const auto& c = *cfg.cluster;
    auto endpoint = cluster::endpoint_for(c);
    cluster::suppression_keys keys(c.key_prefix);
    std::string error;
    auto started = std::chrono::steady_clock::now();
    auto ping = cluster::run_blocking(endpoint, {{"PING"}}, &error);
    auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started
    );
    auto redis = config::redact_redis_url(c.redis);
    if (!ping) {
        if (ctx.format == "json")
            fmt::print(
                "{{\"redis\":{},\"reachable\":false,\"error\":{}}}\n", json_string(redis),
                json_string(error)
            );
        else
            fmt::print("redis {}: unreachable ({})\n", redis, error);
        return exit_failure;
    }
    // The nodes that beat in the last node_ttl_seconds (heartbeat.hpp), and the shared list.
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()
    )
                   .count();
    auto listed = cluster::run_blocking(
        endpoint,
        {{"ZRANGEBYSCORE", cluster::nodes_key(c.key_prefix),
          std::to_string(now - cluster::node_ttl_seconds), "+inf"},
         {"HLEN", keys.entries}},
        &error
    );
    if (!listed) {
        fmt::print(stderr, "outpostctl cluster: {}\n", error);
        return exit_failure;
    }
    std::vector<std::string> node_keys;
    for (const auto& n : (*listed)[0].items)
        node_keys.push_back(cluster::node_key(c.key_prefix, n.text));
    std::sort(node_keys.begin(), node_keys.end());
    std::vector<std::map<std::string, std::string>> nodes;
    if (!node_keys.empty()) {
        std::vector<std::string> get{"MGET"};
        get.insert(get.end(), node_keys.begin(), node_keys.end());
        auto values = cluster::run_blocking(endpoint, {get}, &error);
        if (!values) {
            fmt::print(stderr, "outpostctl cluster: {}\n", error);
            return exit_failure;
        }
        const auto& items = (*values)[0].items;
        for (std::size_t i = 0; i < node_keys.size() && i < items.size(); ++i) {
            if (items[i].kind != cluster::redis_value::type::string)
                continue;  // expired between KEYS and MGET
            auto fields = cluster::parse_announcement(items[i].text);
            fields["node"] = node_name_of(node_keys[i], c.key_prefix);
            nodes.push_back(std::move(fields));
        }
    }
    auto shared_entries = (*listed)[1].integer;
    auto field = [](const std::map<std::string, std::string>& m, const char* k) {
        auto it = m.find(k);
        return it == m.end() ? std::string() : it->second;
    };
    if (ctx.format == "json") {
        std::string list;
        for (const auto& n : nodes) {
            std::string fields;
            for (const auto& [k, v] : n)
                fields += fmt::format(
                    "{}{}:{}", fields.empty() ? "" : ",", json_string(k), json_string(v)
                );
            list += fmt::format("{}{{{}}}", list.empty() ? "" : ",", fields);
        }
        fmt::print(
            "{{\"redis\":{},\"reachable\":true,\"ping_us\":{},\"shared_suppression_entries\":{},"
            "\"nodes\":[{}]}}\n",
            json_string(redis), rtt.count(), shared_entries, list
        );
        return exit_ok;
    }
    fmt::print(
        "redis {}: reachable, PING {:.2f} ms, key prefix {}\n", redis,
        static_cast<double>(rtt.count()) / 1000.0, c.key_prefix
    );
    fmt::print("shared suppression list: {} entries\n", shared_entries);
    fmt::print("nodes seen in the last {} s: {}\n", cluster::node_ttl_seconds, nodes.size());
    if (!nodes.empty())
        fmt::print(
            "  {:<24} {:<10} {:>8} {:>10} {:<20} {:<8}\n", "NODE", "DEGRADED", "ENTRIES", "LATENCY",
            "LAST SYNC", "VERSION"
        );
    for (const auto& n : nodes) {
        auto sync = field(n, "last_sync");
        auto latency = field(n, "latency_us");
        fmt::print(
            "  {:<24} {:<10} {:>8} {:>10} {:<20} {:<8}\n", field(n, "node"), field(n, "degraded"),
            field(n, "suppression_entries"), latency_text(latency), sync_text(sync),
            field(n, "version")
        );
    }
    return exit_ok;
}

int migrate(context& ctx) {
    const auto& cfg = ctx.config();
    if (!cfg.cluster) {
        fmt::print(stderr, "outpostctl cluster: the config has no [cluster] section\n");
        return exit_usage;
    }
    const auto& c = *cfg.cluster;
    std::filesystem::path spool = cfg.server.spool_dir;
    std::string error;
    std::vector<cluster::command_args> commands;
    std::size_t entries = 0, counts = 0;
    auto list = suppression::sqlite_store::open((spool / "suppression.sqlite").string(), &error);
    if (!list) {
        fmt::print(stderr, "outpostctl cluster: {}\n", error);
        return exit_failure;
    }
    cluster::suppression_keys keys(c.key_prefix);
    for (const auto& e : list->list({})) {
        // Published as the daemon publishes (never over a later removal); running nodes merge it.
        for (auto& command : cluster::put_commands(keys, "outpostctl", e))
            commands.push_back(std::move(command));
        ++entries;
    }
    auto counters = shaping::sqlite_counter_store::open(
        (spool / shaping::sqlite_counter_store::default_file).string(), &error
    );
    if (!counters) {
        fmt::print(stderr, "outpostctl cluster: {}\n", error);
        return exit_failure;
    }
    std::vector<std::string> providers;
    for (const auto& p : cfg.providers)
        providers.push_back(p.name);
    providers.emplace_back(shaping::default_provider);
    auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    for (const auto& ip : cfg.source_ips) {
        auto start = shaping::parse_date(ip.warming_start);
        if (ip.warming.empty() || !start)
            continue;
        auto address = ip.address.to_string();
        for (const auto& provider : providers)
            for (const auto& [d, n] :
                 counters->history(address, provider, *start, today + std::chrono::days(1)))
                for (auto& command : cluster::raise_counts(c.key_prefix, address, provider, d, n)) {
                    commands.push_back(std::move(command));
                    ++counts;
                }
    }
    if (!commands.empty() && !cluster::run_blocking(cluster::endpoint_for(c), commands, &error)) {
        fmt::print(stderr, "outpostctl cluster: Redis: {}\n", error);
        return exit_failure;
    }
    fmt::print(
        "migrated to {}: {} suppression entries (published; every node merges them), {} warming "
        "counts "
        "(the larger kept)\n",
        config::redact_redis_url(c.redis), entries, counts
    );
    return exit_ok;
}

int run(context& ctx) {
    if (ctx.args.size() == 1 && ctx.args[0] == "status")
        return status(ctx);
    if (ctx.args.size() == 1 && ctx.args[0] == "migrate")
        return migrate(ctx);
    fmt::print(stderr, "{}", usage);
    return exit_usage;
}

const registration reg{
    "cluster", "the nodes sharing state on Redis ([cluster]), and joining them", usage, run};

}  // namespace

std::optional<std::string> publish_entries(
    const config::cluster_section& cluster,
    suppression::store& local,
    const std::vector<std::string>& addresses
) {
    cluster::suppression_keys keys(cluster.key_prefix);
    std::vector<cluster::command_args> commands;
    for (const auto& address : addresses)
        if (auto e = local.lookup(address))
            for (auto& c : cluster::put_commands(keys, "outpostctl", *e))
                commands.push_back(std::move(c));
    std::string error;
    if (!commands.empty() &&
        !cluster::run_blocking(cluster::endpoint_for(cluster), commands, &error))
        return error;
    return std::nullopt;
}

std::optional<std::string> remove_shared(
    const config::cluster_section& cluster,
    const std::string& address,
    std::int64_t now,
    bool* was_there
) {
    cluster::suppression_keys keys(cluster.key_prefix);
    std::string error;
    auto replies = cluster::run_blocking(
        cluster::endpoint_for(cluster), cluster::remove_commands(keys, "outpostctl", address, now),
        &error
    );
    if (!replies)
        return error;
    *was_there = !replies->empty() && replies->front().integer == 1;
    return std::nullopt;
}

}  // namespace outpost::ctl
