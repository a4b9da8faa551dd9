#include "core/queue/feedback.hpp"

#include <chrono>

#include <fmt/format.h>

#include "core/bounce/reason.hpp"
#include "core/bounce/verp.hpp"
#include "core/util/log.hpp"
#include "core/util/metrics.hpp"
#include "core/util/text.hpp"

namespace outpost::queue {

feedback::feedback(
    const config::bounce_section& settings,
    std::vector<std::string> secrets,
    suppression::store& list,
    suppression::bounce_state& state
)
    : settings_(settings), secrets_(std::move(secrets)), list_(list), state_(state) {}

std::optional<std::string> feedback::suppressed(const std::string& address) {
    auto e = list_.lookup(address);
    if (!e)
        return std::nullopt;
    return fmt::format(
        "recipient is on the suppression list ({}{}{} since {})", e->reason,
        e->status.empty() ? "" : " ", e->status, util::iso8601(e->first_seen).substr(0, 10)
    );
}

std::string feedback::return_path(
    const std::string& sender, const std::string& queue_id, std::uint32_t index
) const {
    if (!verp() || sender.empty())
        return sender;
    auto path = bounce::make_return_path(queue_id, index, settings_.domain, secrets_.front());
    return path ? *path : sender;
}

void feedback::remember_sent(std::span<const suppression::sent_entry> entries) {
    if (!verp() || entries.empty())
        return;
    if (!state_.record_sent(entries))
        log::warn("verp_record_failed", {{"entries", entries.size()}});
    if (shared_)
        shared_->publish_sent(entries);
    auto now = entries.front().at;
    if (now - last_prune_ >= 3600) {
        last_prune_ = now;
        state_.prune_sent(now - sent_retention_seconds);
    }
}

bool feedback::record(
    const std::string& address,
    const bounce::classification& c,
    suppression::source origin,
    const std::string& cause,
    const std::string& message_id,
    std::int64_t now
) {
    auto decision = bounce::suppression_for(c.why, c.status);
    auto reason = std::string(bounce::to_string(c.why));
    if (decision == bounce::suppression_decision::ignore) {
        log::info("bounce_ignored", {{"rcpt", address}, {"reason", reason}, {"cause", cause}});
        return true;
    }
    if (decision == bounce::suppression_decision::count_soft) {
        auto window =
            std::chrono::duration_cast<std::chrono::seconds>(settings_.soft_bounce_window).count();
        auto count = state_.record_soft(address, now, window);
        log::info(
            "soft_bounce", {{"rcpt", address},
                            {"reason", reason},
                            {"status", c.status},
                            {"count", count},
                            {"limit", settings_.soft_bounce_limit},
                            {"cause", cause}}
        );
        if (count < settings_.soft_bounce_limit)
            return true;
    }
    suppression::entry e;
    e.address = address;
    e.reason = reason;
    e.status = c.status;
    e.origin = decision == bounce::suppression_decision::suppress_complaint
                   ? suppression::source::complaint
                   : origin;
    e.first_seen = e.last_seen = now;
    e.queue_id = cause;
    e.message_id = message_id;
    e.severity = decision == bounce::suppression_decision::count_soft ? suppression::kind::soft
                                                                      : suppression::kind::hard;
    if (!list_.add(e)) {
        log::error("suppression_write_failed", {{"rcpt", address}, {"error", list_.last_error()}});
        return false;
    }
    util::metrics().suppressions_added.add(reason);
    log::info(
        "suppressed", {{"rcpt", address},
                       {"reason", reason},
                       {"status", c.status},
                       {"source", suppression::to_string(e.origin)},
                       {"cause", cause},
                       {"message_id", message_id}}
    );
    return true;
}

void feedback::on_reply(
    const std::string& address,
    const smtp::reply& reply,
    bounce::reply_phase phase,
    const std::string& queue_id,
    const std::string& message_id,
    std::int64_t now,
    std::string_view host
) {
    record(
        address, bounce::classify(reply, phase, host), suppression::source::smtp_reply, queue_id,
        message_id, now
    );
}

void feedback::on_delivered(const std::string& address) {
    state_.reset_soft(address);
}

boost::asio::awaitable<feedback::returned_to> feedback::find_returned(const std::string& rcpt) {
    returned_to r;
    if (auto token = bounce::parse_return_path(rcpt, settings_.domain, secrets_)) {
        if (auto sent = state_.sent(token->queue_id, token->recipient_index)) {
            r.is = returned_to::state::found;
            r.token = std::move(*token);
            r.sent = std::move(*sent);
            co_return r;
        }
        // Sent by this node under its name before its records were lost, or never.
        if (!shared_) {
            r.is = returned_to::state::unknown;
            r.token = std::move(*token);
            co_return r;
        }
        co_return co_await find_shared(shared_->node(), std::move(*token));
    }
    if (!shared_)
        co_return r;
    auto others = co_await shared_->secrets();
    if (!others) {
        r.is = returned_to::state::unreachable;
        co_return r;
    }
    for (const auto& [node, secret] : *others) {
        std::string one[] = {secret};
        if (auto token = bounce::parse_return_path(rcpt, settings_.domain, one))
            co_return co_await find_shared(node, std::move(*token));
    }
    co_return r;
}

boost::asio::awaitable<feedback::returned_to> feedback::find_shared(
    std::string node, bounce::verp_token token
) {
    returned_to r;
    auto [found, sent] = co_await shared_->sent(node, token.queue_id, token.recipient_index);
    r.token = std::move(token);
    r.sent = std::move(sent);
    r.is = found == shared_bounces::lookup::found    ? returned_to::state::found
           : found == shared_bounces::lookup::absent ? returned_to::state::unknown
                                                     : returned_to::state::unreachable;
    co_return r;
}

boost::asio::awaitable<std::optional<std::string>> feedback::on_inbound(
    std::span<const std::string> recipients, std::string_view message, std::int64_t now
) {
    auto found = bounce::classify_message(message);
    using state = returned_to::state;
    // Every token first: when one can only be checked on a cluster that is unreachable, the
    // sender tries the whole message again, and nothing may have been recorded twice by then.
    std::vector<returned_to> returns;
    for (const auto& rcpt : recipients) {
        returns.push_back(co_await find_returned(rcpt));
        if (returns.back().is == state::unreachable) {
            log::warn("bounce_deferred", {{"rcpt", rcpt}, {"why", "cluster unreachable"}});
            co_return std::nullopt;
        }
    }
    std::string summary;
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        const auto& rcpt = recipients[i];
        const auto& to = returns[i];
        if (to.is == state::unverified) {
            // Not one of ours (or forged): it names nobody, whatever its body says.
            log::warn("bounce_unverified", {{"rcpt", rcpt}, {"named", found.size()}});
            summary += fmt::format("{}: unverified; ", rcpt);
            continue;
        }
        if (to.is == state::unknown) {
            log::warn("bounce_unknown_token", {{"rcpt", rcpt}, {"queue_id", to.token.queue_id}});
            summary += fmt::format("{}: unknown token; ", rcpt);
            continue;
        }
        const auto& sent = to.sent;
        // The classification about this address (bounces name the recipient they are about);
        // else the only one; else an unparseable bounce about the verified address.
        const bounce::classification* match = nullptr;
        for (const auto& c : found)
            if (util::iequals(c.recipient, sent.address))
                match = &c;
        if (!match && found.size() == 1)
            match = &found.front();
        bounce::classification fallback;
        fallback.recipient = sent.address;
        fallback.why = bounce::reason::undefined;
        const auto& c = match ? *match : fallback;
        if (!record(
                sent.address, c,
                c.why == bounce::reason::feedback ? suppression::source::complaint
                                                  : suppression::source::dsn,
                to.token.queue_id, sent.message_id, now
            ))
            co_return std::nullopt;
        if (returned_ &&
            (c.why == bounce::reason::feedback || c.hardness == bounce::severity::hard))
            returned_(sent, c.why == bounce::reason::feedback, now);
        if (events_) {
            events::event e;
            bool complaint = c.why == bounce::reason::feedback;
            e.what = complaint ? events::kind::complaint : events::kind::bounced;
            e.queue_id = to.token.queue_id;
            e.message_id = sent.message_id;
            e.recipient = sent.address;
            auto at = sent.address.rfind('@');
            e.destination =
                at == std::string::npos ? "" : util::to_lower(sent.address.substr(at + 1));
            e.source_ip = sent.source;
            e.status = c.status;
            e.reply = complaint ? c.diagnostic : c.diagnostic.substr(0, 500);
            e.reason = std::string(bounce::to_string(c.why));
            e.severity = complaint || c.hardness == bounce::severity::hard ? "hard" : "soft";
            events_(std::move(e));
        }
        summary += fmt::format("{}: {} {}; ", sent.address, bounce::to_string(c.why), c.status);
    }
    co_return summary;
}

}  // namespace outpost::queue
