#include "core/cluster/shared_reports.hpp"

#include <fmt/format.h>
#include <openssl/sha.h>

#include "core/util/log.hpp"

namespace outpost::cluster {

std::string report_key(std::string_view prefix, const dmarc::report& r) {
    auto identity = r.org_name + '\x1f' + r.report_id;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(identity.data()), identity.size(), digest);
    std::string hex;
    for (int i = 0; i < 16; ++i)  // 128 bits name a report well enough
        hex += fmt::format("{:02x}", digest[i]);
    return fmt::format("{}dmarc:report:{}", prefix, hex);
}

shared_reports::shared_reports(
    std::shared_ptr<redis_link> commands,
    redis_link& subscriber,
    std::string_view prefix,
    merge_fn merge
)
    : commands_(std::move(commands)),
      subscriber_(subscriber),
      prefix_(prefix),
      channel_(fmt::format("{}dmarc", prefix)),
      merge_(std::move(merge)),
      catch_up_(
          commands_,
          subscriber,
          fmt::format("{}dmarc:report:*", prefix),
          [this](const std::string& key) { fetch(key); }
      ) {
    subscriber.subscribe(channel_, [this](std::string_view key) {
        if (key.starts_with(prefix_ + "dmarc:report:"))
            fetch(std::string(key));
    });
}

void shared_reports::publish(const dmarc::report& r) {
    if (!commands_->up())
        return;  // kept on this node; its later reports still go out
    auto key = report_key(prefix_, r);
    auto ignore = [](std::optional<redis_value>) {};
    std::vector<std::string> set{
        "SET", key, dmarc::to_json(r), "EX", std::to_string(shared_report_ttl_seconds), "NX"};
    commands_->command(std::move(set), ignore);
    commands_->command({"PUBLISH", channel_, key}, ignore);
}

void shared_reports::fetch(const std::string& key) {
    commands_->command({"GET", key}, [this, key](std::optional<redis_value> v) {
        if (!v || v->kind != redis_value::type::string)
            return;
        auto r = dmarc::report_from_json(v->text);
        if (!r) {
            log::warn("dmarc_shared_report_unreadable", {{"key", key}});
            return;
        }
        ++merged_;
        merge_(*r);
    });
}

}  // namespace outpost::cluster
