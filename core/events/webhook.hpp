// A [[webhook]]: events from the durable log POSTed to the receiver in batches (a JSON array of
// event objects), signed, in order, at least once: the position after the last batch the
// receiver answered 2xx is kept in spool_dir/events/webhook-NAME.cursor, so a restart or an
// outage resends what was not acknowledged and nothing else. A receiver that fails is retried
// after 1 s, 2 s, 4 s ... up to 5 min; delivery never waits for webhooks. A new webhook starts at
// the end of the log (new events only).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/http_url.hpp"
#include "config/schema.hpp"
#include "core/dns/resolver.hpp"
#include "core/events/event_log.hpp"

namespace outpost::events {

// The X-Outpost-Signature header: "t=UNIX,v1=HEX" where HEX is HMAC-SHA256(secret,
// "UNIX.BODY") in lower-case hex (the time inside the signed text stops replays of old batches).
std::string signature(std::string_view secret, std::int64_t unix_time, std::string_view body);

// The request body: the lines (each a JSON object) as one JSON array.
std::string batch_body(const std::vector<std::string>& lines);

// How long to wait after the n-th failure in a row (n >= 1): 1 s doubling, at most 5 min.
std::chrono::seconds retry_delay(unsigned failures);

// A cursor file's text, and back (nullopt when damaged).
std::string format_cursor(position p);
std::optional<position> parse_cursor(std::string_view text);

class webhook_sender {
public:
    webhook_sender(
        boost::asio::any_io_executor executor,
        config::webhook settings,
        event_log& log,
        dns::resolver& resolver
    );
    void start();
    void stop();

    // What /api/v1/status and the metrics show.
    struct view {
        std::string name;
        std::uint64_t sent = 0;      // events acknowledged by the receiver since start
        std::uint64_t failures = 0;  // failed requests since start
        unsigned failing_in_a_row = 0;
        double lag_seconds = 0;  // age of the oldest event not yet acknowledged; 0: none
        std::string last_error;
    };

    view look() const;

    position cursor() const { return cursor_; }

private:
    boost::asio::awaitable<void> run();
    void save_cursor(position p);
    std::filesystem::path cursor_path() const;

    boost::asio::any_io_executor executor_;
    config::webhook settings_;
    config::http_address to_;
    event_log& log_;
    dns::resolver& resolver_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    boost::asio::steady_timer timer_;
    bool idle_ = false;  // waiting for new events (an append wakes it), not in a retry pause
    bool stopped_ = false;
    position cursor_;
    std::uint64_t sent_ = 0;
    std::uint64_t failures_ = 0;
    unsigned failing_ = 0;
    std::int64_t oldest_pending_ms_ = 0;
    std::string last_error_;
    std::chrono::steady_clock::time_point last_idle_save_{};
};

}  // namespace outpost::events
