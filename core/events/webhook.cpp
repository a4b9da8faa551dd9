#include "core/events/webhook.hpp"

#include <algorithm>
#include <fstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/events/https_post.hpp"
#include "core/tlspolicy/fetch.hpp"
#include "core/util/log.hpp"

namespace outpost::events {

namespace asio = boost::asio;
namespace fs = std::filesystem;

std::string signature(std::string_view secret, std::int64_t unix_time, std::string_view body) {
    auto signed_text = fmt::format("{}.{}", unix_time, body);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(
        EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
        reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &length
    );
    std::string hex;
    for (unsigned i = 0; i < length; ++i)
        hex += fmt::format("{:02x}", mac[i]);
    return fmt::format("t={},v1={}", unix_time, hex);
}

std::string batch_body(const std::vector<std::string>& lines) {
    std::string body = "[";
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i)
            body += ',';
        body += lines[i];
    }
    body += ']';
    return body;
}

std::chrono::seconds retry_delay(unsigned failures) {
    auto shift = std::min(failures == 0 ? 0u : failures - 1, 9u);
    return std::min(std::chrono::seconds(1ll << shift), std::chrono::seconds(300));
}

std::string format_cursor(position p) {
    return fmt::format("{} {}\n", p.segment, p.offset);
}

std::optional<position> parse_cursor(std::string_view text) {
    position p;
    auto space = text.find(' ');
    if (space == std::string_view::npos)
        return std::nullopt;
    auto number = [](std::string_view s, std::uint64_t& out) {
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
            s.remove_suffix(1);
        if (s.empty() || s.size() > 19)
            return false;
        out = 0;
        for (char c : s) {
            if (c < '0' || c > '9')
                return false;
            out = out * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return true;
    };
    if (!number(text.substr(0, space), p.segment) || !number(text.substr(space + 1), p.offset))
        return std::nullopt;
    return p;
}

webhook_sender::webhook_sender(
    asio::any_io_executor executor,
    config::webhook settings,
    event_log& log,
    dns::resolver& resolver
)
    : executor_(executor),
      settings_(std::move(settings)),
      to_(*config::parse_http_url(settings_.url).address),
      log_(log),
      resolver_(resolver),
      tls_(tlspolicy::verifying_context(settings_.tls_ca_file)),
      timer_(executor) {
    std::error_code ec;
    if (!fs::exists(cursor_path(), ec)) {
        // A new webhook: events from now on.
        save_cursor(log_.end());
    } else {
        std::ifstream in(cursor_path());
        std::string text;
        std::getline(in, text);
        if (auto p = parse_cursor(text)) {
            // Past the end of the log (a power cut cut the log's tail off after the receiver
            // had it): on from the end, or new events would be written under the cursor.
            cursor_ = std::min(*p, log_.end());
        } else {
            // Damaged or empty: from the oldest event kept rather than lose any (at least once).
            log::warn(
                "webhook_cursor_damaged", {{"webhook", settings_.name}, {"resend_from", "oldest"}}
            );
            cursor_ = position{};
        }
    }
    log_.on_append([this] {
        if (idle_)
            timer_.cancel();
    });
}

fs::path webhook_sender::cursor_path() const {
    return log_.dir() / fmt::format("webhook-{}.cursor", settings_.name);
}

void webhook_sender::save_cursor(position p) {
    cursor_ = p;
    // Written whole and renamed into place; not synced: after a power cut the receiver gets
    // a few batches again, which at-least-once allows.
    auto path = cursor_path();
    auto tmp = path;
    tmp += ".tmp";
    std::error_code ec;
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << format_cursor(p);
        out.close();
        if (!out) {  // a full disk: keep the cursor that is there
            fs::remove(tmp, ec);
            return;
        }
    }
    fs::rename(tmp, path, ec);
}

void webhook_sender::start() {
    // An exception out of a request (no memory for TLS, ...) must not end the sender for good.
    asio::co_spawn(executor_, run(), [this](std::exception_ptr e) {
        if (!e || stopped_)
            return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error("webhook_stopped", {{"webhook", settings_.name}, {"error", ex.what()}});
        }
        timer_.expires_after(std::chrono::seconds(5));
        timer_.async_wait([this](boost::system::error_code ec) {
            if (!ec && !stopped_)
                start();
        });
    });
}

void webhook_sender::stop() {
    stopped_ = true;
    timer_.cancel();
}

webhook_sender::view webhook_sender::look() const {
    view v;
    v.name = settings_.name;
    v.sent = sent_;
    v.failures = failures_;
    v.failing_in_a_row = failing_;
    v.last_error = last_error_;
    if (oldest_pending_ms_ > 0) {
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()
        )
                       .count();
        v.lag_seconds = std::max<double>(0, static_cast<double>(now - oldest_pending_ms_) / 1000);
    }
    return v;
}

asio::awaitable<void> webhook_sender::run() {
    constexpr auto wait = asio::as_tuple(asio::use_awaitable);
    auto wanted = [this](const event& e) {
        return settings_.events.empty() ||
               std::find(
                   settings_.events.begin(), settings_.events.end(), std::string(to_string(e.what))
               ) != settings_.events.end();
    };
    while (!stopped_) {
        auto batch = read_events(log_.dir(), cursor_, settings_.batch_size, wanted);
        if (batch.damaged)
            log::warn(
                "events_damaged_lines", {{"webhook", settings_.name}, {"skipped", batch.damaged}}
            );
        if (batch.lines.empty()) {
            // Events passed over by the filter: the position moves, written at most once a
            // second (a filtered webhook wakes on every append).
            auto now = std::chrono::steady_clock::now();
            if (batch.next != cursor_ && now - last_idle_save_ >= std::chrono::seconds(1)) {
                save_cursor(batch.next);
                last_idle_save_ = now;
            } else {
                cursor_ = batch.next;
            }
            oldest_pending_ms_ = 0;
            // Woken by the next append; the timeout also finds events another process wrote.
            idle_ = true;
            timer_.expires_after(std::chrono::seconds(1));
            co_await timer_.async_wait(wait);
            idle_ = false;
            continue;
        }
        if (auto first = from_json(batch.lines.front()))
            oldest_pending_ms_ = first->at_ms;
        auto body = batch_body(batch.lines);
        auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()
        )
                       .count();
        header_list headers{
            {"X-Outpost-Signature", signature(settings_.secret, now, body)},
            {"X-Outpost-Webhook", settings_.name},
        };
        auto result = co_await post_json(
            resolver_, *tls_, to_, std::move(body), headers,
            std::chrono::duration_cast<std::chrono::milliseconds>(settings_.timeout)
        );
        if (result.ok()) {
            sent_ += batch.lines.size();
            save_cursor(batch.next);  // before anything else: the receiver has them
            if (stopped_)
                break;
            if (failing_)
                log::info(
                    "webhook_recovered", {{"webhook", settings_.name}, {"after_failures", failing_}}
                );
            failing_ = 0;
            last_error_.clear();
            continue;
        }
        if (stopped_)
            break;
        ++failures_;
        ++failing_;
        if (result.error != last_error_)
            log::warn(
                "webhook_failed",
                {{"webhook", settings_.name}, {"error", result.error}, {"in_a_row", failing_}}
            );
        last_error_ = result.error;
        timer_.expires_after(retry_delay(failing_));
        co_await timer_.async_wait(wait);
    }
}

}  // namespace outpost::events
