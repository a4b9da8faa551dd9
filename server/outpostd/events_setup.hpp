// [events] and [[webhook]]: the daemon's event log in spool_dir/events/, the webhook senders that
// read it, and the hourly pruning of old segments. Without [events] enabled nothing is created.
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/schema.hpp"
#include "core/dns/resolver.hpp"
#include "core/events/event_log.hpp"
#include "core/events/webhook.hpp"

namespace outpost::daemon {

struct event_parts {
    std::unique_ptr<events::event_log> log;
    std::vector<std::unique_ptr<events::webhook_sender>> webhooks;
    std::unique_ptr<boost::asio::steady_timer> prune_timer;
    std::chrono::seconds retention{0};

    // Where components hand events; empty when the log is off.
    events::sink sink();
    // Starts the webhook senders and the pruning.
    void start(boost::asio::io_context& io, const config::config& cfg, dns::resolver& resolver);
    void stop();
    std::vector<events::webhook_sender::view> look() const;

private:
    void prune_later();
};

// The event of a recipient refused at RCPT because it is suppressed (why: the reply's text).
events::event refused_at_rcpt(const std::string& address, const std::string& why);

// Opens spool_dir/events when [events] enabled; throws when it cannot.
event_parts open_events(const config::config& cfg);

}  // namespace outpost::daemon
