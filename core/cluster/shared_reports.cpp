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
      merge_(std::move(merge)) {
    subscriber.subscribe(channel_, [this](std::string_view key) {
        if (key.starts_with(prefix_ + "dmarc:report:"))
            fetch(std::string(key));
    });
    subscriber.on_up([this] { catch_up(); });
    commands_->on_up([this] { catch_up(); });
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

void shared_reports::catch_up() {
    // One scan at a time, and another after it when the subscriber reconnected meanwhile.
    if (!commands_->up() || !subscriber_.up())
        return;
    if (scanning_) {
        again_ = again_ || subscriber_.connections() != scanned_on_;
        return;
    }
    scanning_ = true;
    scanned_on_ = subscriber_.connections();
    scan_from("0");
}

void shared_reports::scan_from(std::string cursor) {
    auto pattern = fmt::format("{}dmarc:report:*", prefix_);
    commands_->command(
        {"SCAN", cursor, "MATCH", pattern, "COUNT", "500"},
        [this](std::optional<redis_value> v) {
            bool more = v && v->kind == redis_value::type::array && v->items.size() == 2;
            if (more) {
                for (const auto& k : v->items[1].items)
                    fetch(k.text);
                more = v->items[0].text != "0";
            }
            if (more)
                return scan_from(v->items[0].text);
            scanning_ = false;
            if (std::exchange(again_, false))
                catch_up();
        }
    );
}

}  // namespace outpost::cluster
