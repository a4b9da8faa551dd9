// Acting on what receivers say about recipients: a permanent SMTP reply or a bounce mail that
// comes back to the bounce domain is classified (core/bounce) and the address suppressed at once
// (hard bounces, complaints) or after soft_bounce_limit soft bounces in a row; a delivery resets
// the soft count. Also answers "is this address suppressed?" for RCPT and delivery.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "config/schema.hpp"
#include "core/bounce/classifier.hpp"
#include "core/bounce/verp.hpp"
#include "core/events/event.hpp"
#include "core/queue/shared_bounces.hpp"
#include "core/smtp/reply.hpp"
#include "core/suppression/bounce_state.hpp"
#include "core/suppression/store.hpp"

namespace outpost::queue {

class feedback {
public:
    feedback(
        const config::bounce_section& settings,
        std::vector<std::string> secrets,
        suppression::store& list,
        suppression::bounce_state& state
    );

    // The reason text for a 550 at RCPT, or nullopt when the address may be mailed.
    std::optional<std::string> suppressed(const std::string& address);

    // The VERP return path for recipient index of queue id, or the sender unchanged when VERP is
    // off (no bounce domain) or the sender is null.
    std::string return_path(
        const std::string& sender, const std::string& queue_id, std::uint32_t index
    ) const;
    // Records what was sent with VERP return paths (and shares it with the cluster); entries
    // older than sent_retention are pruned now and then.
    void remember_sent(std::span<const suppression::sent_entry> entries);

    // [cluster]: bounces that come back to another node verify with that node's secret and
    // find its records there. Must outlive this.
    void share(shared_bounces* shared) { shared_ = shared; }

    // Bounces and complaints that come back by mail, as events.
    void set_events(events::sink s) { events_ = std::move(s); }

    // A permanent failure reported by the receiving server (named by `host`, "" when none)
    // during delivery.
    void on_reply(
        const std::string& address,
        const smtp::reply& reply,
        bounce::reply_phase phase,
        const std::string& queue_id,
        const std::string& message_id,
        std::int64_t now,
        std::string_view host = {}
    );
    void on_delivered(const std::string& address);

    // A message sent to the bounce domain: recipients are the bounce-domain addresses it was
    // sent to. Returns a sentence for the log; nullopt when the result could not be recorded
    // (the sender should try again: 451), also when a token can only be checked on a cluster
    // that is unreachable.
    boost::asio::awaitable<std::optional<std::string>> on_inbound(
        std::span<const std::string> recipients, std::string_view message, std::int64_t now
    );

    bool verp() const { return !settings_.domain.empty() && !secrets_.empty(); }

    // Called for each returning bounce or complaint matched to what was sent (VERP), with what
    // was recorded at sending (source IP, provider): the warming health gates count it.
    using returned_fn =
        std::function<void(const suppression::sent_entry& sent, bool complaint, std::int64_t now)>;

    void on_returned(returned_fn f) { returned_ = std::move(f); }

    const std::string& bounce_domain() const { return settings_.domain; }

private:
    // Which recipient a return path at the bounce domain stands for.
    struct returned_to {
        enum class state { found, unverified, unknown, unreachable } is = state::unverified;
        bounce::verp_token token;
        suppression::sent_entry sent;
    };

    boost::asio::awaitable<returned_to> find_returned(const std::string& rcpt);
    boost::asio::awaitable<returned_to> find_shared(std::string node, bounce::verp_token token);

    bool record(
        const std::string& address,
        const bounce::classification& c,
        suppression::source origin,
        const std::string& cause,
        const std::string& message_id,
        std::int64_t now
    );

    config::bounce_section settings_;
    std::vector<std::string> secrets_;
    suppression::store& list_;
    suppression::bounce_state& state_;
    returned_fn returned_;
    shared_bounces* shared_ = nullptr;
    events::sink events_;
    std::int64_t last_prune_ = 0;
};

// How long a node keeps its records of what it sent: bounces and complaints come later than
// that only rarely (complaint loops report within days).
inline constexpr std::int64_t sent_retention_seconds = 30 * 24 * 3600;

}  // namespace outpost::queue
