#include "core/cluster/heartbeat.hpp"

#include <chrono>
#include <random>

#include <fmt/format.h>

#include "core/util/log.hpp"

namespace outpost::cluster {

std::string node_key(std::string_view prefix, std::string_view node) {
    return fmt::format("{}node:{}", prefix, node);
}

std::string nodes_key(std::string_view prefix) {
    return fmt::format("{}nodes", prefix);
}

std::string format_announcement(const std::map<std::string, std::string>& fields) {
    std::string out;
    for (const auto& [k, v] : fields) {
        if (!out.empty())
            out += ' ';
        out += k + '=' + v;
    }
    return out;
}

std::map<std::string, std::string> parse_announcement(std::string_view text) {
    std::map<std::string, std::string> out;
    while (!text.empty()) {
        auto space = text.find(' ');
        auto word = text.substr(0, space);
        if (auto eq = word.find('='); eq != std::string_view::npos && eq > 0)
            out.emplace(std::string(word.substr(0, eq)), std::string(word.substr(eq + 1)));
        if (space == std::string_view::npos)
            break;
        text.remove_prefix(space + 1);
    }
    return out;
}

heartbeat::heartbeat(
    std::shared_ptr<redis_link> commands,
    std::string_view prefix,
    std::string node,
    std::function<std::map<std::string, std::string>()> fields
)
    : commands_(std::move(commands)),
      key_(node_key(prefix, node)),
      nodes_key_(nodes_key(prefix)),
      node_(node),
      instance_(
          fmt::format("{:016x}", std::random_device{}() * 0x100000000ull + std::random_device{}())
      ),
      fields_(std::move(fields)),
      timer_(commands_->executor()) {}

void heartbeat::start() {
    commands_->on_up([this] {
        if (!stopped_)
            beat();
    });
    beat();
}

void heartbeat::leave() {
    stop();
    if (!commands_->up())
        return;
    auto ignore = [](std::optional<redis_value>) {};
    commands_->command({"DEL", key_}, ignore);
    commands_->command({"ZREM", nodes_key_, node_}, ignore);
}

void heartbeat::stop() {
    stopped_ = true;
    timer_.cancel();
}

void heartbeat::beat() {
    if (stopped_)
        return;
    if (commands_->up()) {
        auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()
        )
                       .count();
        auto ignore = [](std::optional<redis_value>) {};
        // Two live nodes of one name would take each other's changes for their own and count as
        // one: said loudly (the names come from [cluster] node or the host's name).
        // From the second beat on: before it, the key may still hold this node's previous run.
        commands_->command({"GET", key_}, [this](std::optional<redis_value> v) {
            if (!v || v->kind != redis_value::type::string || said_name_taken_ || !announced_)
                return;
            auto other = parse_announcement(v->text)["instance"];
            if (!other.empty() && other != instance_) {
                said_name_taken_ = true;
                log::error(
                    "cluster_node_name_taken",
                    {{"node", node_},
                     {"fix",
                      "give each node its own [cluster] node name; changes between "
                      "nodes of one name are not shared"}}
                );
            }
        });
        auto fields = fields_();
        fields["instance"] = instance_;
        commands_->command(
            {"SET", key_, format_announcement(fields), "EX", std::to_string(node_ttl_seconds)},
            [this](std::optional<redis_value> v) {
                if (v && !v->is_error())
                    announced_ = true;
            }
        );
        commands_->command({"ZADD", nodes_key_, std::to_string(now), node_}, ignore);
        commands_->command(
            {"ZREMRANGEBYSCORE", nodes_key_, "-inf", std::to_string(now - node_ttl_seconds - 1)},
            ignore
        );
        commands_->command({"ZCARD", nodes_key_}, [this](std::optional<redis_value> v) {
            if (v && v->kind == redis_value::type::integer && v->integer > 0)
                nodes_ = static_cast<std::size_t>(v->integer);
        });
    }
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec)
            beat();
    });
}

}  // namespace outpost::cluster
