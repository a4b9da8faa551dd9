#include "server/outpostd/events_setup.hpp"

#include <filesystem>

#include "core/util/text.hpp"

namespace outpost::daemon {

event_parts open_events(const config::config& cfg) {
    event_parts parts;
    if (!cfg.events.enabled)
        return parts;
    parts.log =
        std::make_unique<events::event_log>(std::filesystem::path(cfg.server.spool_dir) / "events");
    parts.retention = std::chrono::duration_cast<std::chrono::seconds>(cfg.events.retention);
    return parts;
}

events::event refused_at_rcpt(const std::string& address, const std::string& why) {
    events::event e;
    e.what = events::kind::suppressed;
    e.recipient = address;
    auto at = address.rfind('@');
    e.destination = at == std::string::npos ? "" : util::to_lower(address.substr(at + 1));
    e.reply_code = 550;
    e.status = "5.1.1";
    e.reply = why;
    return e;
}

events::sink event_parts::sink() {
    if (!log)
        return {};
    return [l = log.get()](events::event e) { l->append(std::move(e)); };
}

void event_parts::start(
    boost::asio::io_context& io, const config::config& cfg, dns::resolver& resolver
) {
    if (!log)
        return;
    for (const auto& w : cfg.webhooks) {
        webhooks.push_back(
            std::make_unique<events::webhook_sender>(io.get_executor(), w, *log, resolver)
        );
        webhooks.back()->start();
    }
    prune_timer = std::make_unique<boost::asio::steady_timer>(io);
    prune_later();
}

void event_parts::prune_later() {
    // Segments every webhook has passed, older than the retention; a webhook that lags keeps
    // what it has not sent (nothing is lost to pruning).
    auto keep_from = log->end();
    for (const auto& w : webhooks)
        keep_from = std::min(keep_from, w->cursor());
    log->prune(retention, keep_from);
    prune_timer->expires_after(std::chrono::hours(1));
    prune_timer->async_wait([this](boost::system::error_code ec) {
        if (!ec)
            prune_later();
    });
}

void event_parts::stop() {
    for (auto& w : webhooks)
        w->stop();
    if (prune_timer)
        prune_timer->cancel();
}

std::vector<events::webhook_sender::view> event_parts::look() const {
    std::vector<events::webhook_sender::view> views;
    for (const auto& w : webhooks)
        views.push_back(w->look());
    return views;
}

}  // namespace outpost::daemon
