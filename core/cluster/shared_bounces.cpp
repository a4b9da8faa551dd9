#include "core/cluster/shared_bounces.hpp"

#include <map>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "core/util/log.hpp"

namespace outpost::cluster {

namespace json = boost::json;

std::string verp_secrets_key(std::string_view prefix) {
    return fmt::format("{}verp:secrets", prefix);
}

std::string sent_key(std::string_view prefix, std::string_view node, std::string_view queue_id) {
    return fmt::format("{}sent:{}:{}", prefix, node, queue_id);
}

std::string format_sent(const suppression::sent_entry& e) {
    return json::serialize(json::object{
        {"address", e.address},
        {"at", e.at},
        {"source", e.source},
        {"provider", e.provider},
        {"message_id", e.message_id},
    });
}

std::optional<suppression::sent_entry> parse_sent(
    std::string_view text, std::string_view queue_id, std::uint32_t index
) {
    boost::system::error_code ec;
    auto v = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec || !v.is_object())
        return std::nullopt;
    const auto& o = v.as_object();
    auto text_of = [&](const char* name) -> std::optional<std::string> {
        auto* f = o.if_contains(name);
        if (!f || !f->is_string())
            return std::nullopt;
        return std::string(f->as_string());
    };
    auto address = text_of("address");
    auto* at = o.if_contains("at");
    if (!address || address->empty() || !at || !at->is_int64())
        return std::nullopt;
    suppression::sent_entry e;
    e.queue_id = std::string(queue_id);
    e.index = index;
    e.address = *address;
    e.at = at->as_int64();
    e.source = text_of("source").value_or("");
    e.provider = text_of("provider").value_or("");
    e.message_id = text_of("message_id").value_or("");
    return e;
}

shared_bounces::shared_bounces(
    std::shared_ptr<redis_link> commands,
    std::string_view prefix,
    std::string node,
    std::string own_secret
)
    : commands_(std::move(commands)),
      prefix_(prefix),
      node_(std::move(node)),
      own_secret_(std::move(own_secret)) {
    // Again at every connection: a Redis that lost its data learns it back.
    commands_->on_up([link = std::weak_ptr<redis_link>(commands_), key = verp_secrets_key(prefix_),
                      node = node_, secret = own_secret_] {
        if (auto l = link.lock())
            l->command({"HSET", key, node, secret}, [](std::optional<redis_value> v) {
                if (!v || v->is_error())
                    log::warn("verp_secret_unshared", {{"error", v ? v->text : "no answer"}});
            });
    });
}

void shared_bounces::publish_sent(std::span<const suppression::sent_entry> entries) {
    if (!commands_->up() || entries.empty())
        return;
    // One HSET and one EXPIRE per message (a batch holds recipients of a few messages).
    std::map<std::string, std::vector<std::string>> by_message;
    for (const auto& e : entries) {
        auto& args = by_message[e.queue_id];
        if (args.empty())
            args = {"HSET", sent_key(prefix_, node_, e.queue_id)};
        args.push_back(std::to_string(e.index));
        args.push_back(format_sent(e));
    }
    auto ignore = [](std::optional<redis_value>) {};
    for (auto& [queue_id, args] : by_message) {
        auto key = args[1];
        commands_->command(std::move(args), ignore);
        commands_->command({"EXPIRE", key, std::to_string(sent_ttl_seconds)}, ignore);
    }
}

boost::asio::awaitable<std::optional<std::vector<queue::shared_bounces::node_secret>>>
shared_bounces::secrets() {
    std::vector<std::string> args{"HGETALL", verp_secrets_key(prefix_)};
    auto reply = co_await commands_->call(std::move(args));
    if (!reply || reply->is_error())
        co_return std::nullopt;
    std::vector<node_secret> found;
    auto texts = texts_of(*reply);
    for (std::size_t i = 0; i + 1 < texts.size(); i += 2)
        found.push_back({texts[i], texts[i + 1]});
    co_return found;
}

boost::asio::awaitable<std::pair<queue::shared_bounces::lookup, suppression::sent_entry>>
shared_bounces::sent(std::string node, std::string queue_id, std::uint32_t index) {
    std::vector<std::string> args{"HGET", sent_key(prefix_, node, queue_id), std::to_string(index)};
    auto reply = co_await commands_->call(std::move(args));
    if (!reply || reply->is_error())
        co_return std::pair{lookup::unreachable, suppression::sent_entry{}};
    if (reply->kind != redis_value::type::string)
        co_return std::pair{lookup::absent, suppression::sent_entry{}};
    auto e = parse_sent(reply->text, queue_id, index);
    if (!e)
        co_return std::pair{lookup::absent, suppression::sent_entry{}};
    co_return std::pair{lookup::found, std::move(*e)};
}

}  // namespace outpost::cluster
