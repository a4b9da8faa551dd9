#include "core/cluster/key_scan.hpp"

#include <utility>

namespace outpost::cluster {

key_scan::key_scan(
    std::shared_ptr<redis_link> commands, redis_link& subscriber, std::string pattern, key_fn on_key
)
    : commands_(std::move(commands)),
      subscriber_(subscriber),
      pattern_(std::move(pattern)),
      on_key_(std::move(on_key)) {
    subscriber_.on_up([this] { start(); });
    commands_->on_up([this] { start(); });
}

void key_scan::start() {
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

void key_scan::scan_from(std::string cursor) {
    commands_->command(
        {"SCAN", std::move(cursor), "MATCH", pattern_, "COUNT", "500"},
        [this](std::optional<redis_value> v) {
            bool more = v && v->kind == redis_value::type::array && v->items.size() == 2;
            if (more) {
                for (const auto& k : v->items[1].items)
                    on_key_(k.text);
                more = v->items[0].text != "0";
            }
            if (more)
                return scan_from(v->items[0].text);
            scanning_ = false;
            if (std::exchange(again_, false))
                start();
        }
    );
}

}  // namespace outpost::cluster
