#include "core/queue/delivery_batch.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "core/delivery/targets.hpp"
#include "core/dns/destination.hpp"
#include "core/message/header.hpp"
#include "core/queue/feedback.hpp"
#include "core/queue/retry.hpp"
#include "core/queue/runner.hpp"
#include "core/queue/shared_shaping.hpp"
#include "core/util/log.hpp"
#include "core/util/metrics.hpp"
#include "core/util/offload.hpp"
#include "core/util/text.hpp"

namespace outpost::queue {

namespace asio = boost::asio;

namespace {

// True when every recipient of the message in p has a result line on disk. Reads only what
// follows the message (the result lines), from offset on.
bool all_final_on_disk(const std::filesystem::path& p, std::size_t offset, std::size_t recipients) {
    std::ifstream in(p, std::ios::binary);
    if (!in || !in.seekg(static_cast<std::streamoff>(offset)))
        return false;
    std::set<std::size_t> finals;
    std::string line;
    while (std::getline(in, line)) {
        auto parts = util::split(line, ' ');
        std::size_t index = 0;
        if (parts.size() == 4 && (parts[0] == "delivered" || parts[0] == "bounced") &&
            std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), index).ec ==
                std::errc{} &&
            index < recipients)
            finals.insert(index);
    }
    return finals.size() == recipients;
}

spool::recipient_result::kind spool_kind(outcome_line::kind k) {
    return k == outcome_line::kind::delivered ? spool::recipient_result::kind::delivered
                                              : spool::recipient_result::kind::bounced;
}

}  // namespace

delivery_batch::delivery_batch(runner& owner, std::vector<job> jobs)
    : r_(owner),
      jobs_(std::move(jobs)),
      destination_(jobs_.front().destination),
      config_(owner.cfg_),
      cfg_(*config_),
      lifetime_(std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.delivery.max_lifetime)) {
    for (const auto& j : jobs_)
        if (messages_.insert(j.id).second)
            ++r_.batches_of_[j.id];
}

asio::awaitable<void> delivery_batch::run() {
    try {
        co_await resolve();
        if (!route_failure_) {
            admit_destination();
            co_await lease_connection();
        }
        if (provider_label_.empty())
            provider_label_ = r_.shaper_.classify(destination_, {}).provider;
        co_await read_messages();
        form_units();
        for (const auto& u : dropped_)
            co_await record(u, nullptr);
        for (const auto& u : expired_units_)
            co_await record(u, nullptr);
        held_back_.clear();
        co_await transact();
    } catch (const std::exception& e) {
        abandon(e);
    }
    co_await finish();
}

// Where to: a static route, or the destination's MX.
asio::awaitable<void> delivery_batch::resolve() {
    if (const auto* route = config::route_for(cfg_, destination_)) {
        route_tls_ = route->tls;
        if (configured_tls_name() == "dane") {
            // A route is not looked up in DNS, so it has no TLSA records to check.
            route_failure_ = route_failure{
                "4.7.5",
                fmt::format(
                    "DANE required for {}, but a [[route]] without its own tls carries it",
                    destination_
                ),
                false};
            co_return;
        }
        targets_ = co_await delivery::next_hop_targets(
            r_.resolver_, route->next_hop.host, route->next_hop.port
        );
        if (targets_.empty())
            route_failure_ = route_failure{
                "4.4.3", fmt::format("next hop {} has no address", route->next_hop.text()), false};
        co_return;
    }
    auto resolved =
        co_await dns::resolve_destination(r_.resolver_, destination_, dns::make_random_index());
    if (resolved.result != dns::outcome::ok) {
        route_failure_ = route_failure{
            resolved.enhanced, resolved.text, resolved.result == dns::outcome::permanent};
        co_return;
    }
    targets_ = delivery::to_targets(resolved, cfg_.delivery.port);
    if (cfg_.delivery.dane || configured_tls_name() == "dane")
        co_await apply_dane();
    if (cfg_.delivery.mta_sts && r_.sts_ && !targets_.empty())
        co_await apply_mta_sts();
}

// Shaping: the provider and throttle key of the destination, by its MX host names. A
// destination that may not take a connection now waits, files unread; a rate-limited one
// reads only the messages that may go now (each job is one transaction or more).
void delivery_batch::admit_destination() {
    std::vector<std::string> hosts;
    for (const auto& t : targets_)
        if (std::find(hosts.begin(), hosts.end(), t.host) == hosts.end())
            hosts.push_back(t.host);
    shaped_ = r_.shaper_.classify(destination_, hosts);
    provider_label_ = shaped_->provider;
    auto wall = std::chrono::system_clock::now();
    auto steady = std::chrono::steady_clock::now();
    if (auto w = r_.shaper_.may_connect(*shaped_, wall, steady)) {
        log::debug(
            "delivery_waiting",
            {{"destination", destination_}, {"jobs", jobs_.size()}, {"reason", w->reason}}
        );
        for (auto& j : jobs_)
            hold_back(std::move(j), *w);
        jobs_.clear();
        return;
    }
    r_.shaper_.opened(*shaped_);
    holding_ = shaped_;
    auto a = r_.shaper_.rate_allowance(*shaped_, wall, steady);
    auto keep = a ? std::max<std::size_t>(a->count, 1) : jobs_.size();
    for (auto k = keep; k < jobs_.size(); ++k)
        hold_back(std::move(jobs_[k]), a->rest);
    jobs_.resize(std::min(keep, jobs_.size()));
}

asio::awaitable<void> delivery_batch::lease_connection() {
    if (!holding_ || !r_.shared_shaping_ || !holding_->configured.max_connections)
        co_return;
    auto destination = *holding_;
    lease_ = co_await r_.shared_shaping_->open_connection(
        destination.key, destination.configured.max_connections
    );
    if (lease_)
        co_return;
    r_.shaper_.closed(destination);
    holding_.reset();
    shaping::wait w{
        std::chrono::system_clock::now() + std::chrono::seconds(1),
        fmt::format(
            "{}: cluster max_connections {} reached", destination.key,
            destination.configured.max_connections
        )};
    for (auto& j : jobs_)
        hold_back(std::move(j), w);
    jobs_.clear();
}

// The messages, read off the event loop. A file that vanished was deleted meanwhile; one that is
// there but cannot be read is tried again later. Jobs whose lifetime ran out while shaping held
// them back are read with the rest and bounced, never sent.
asio::awaitable<void> delivery_batch::read_messages() {
    for (auto& j : overdue_) {
        overdue_serials_.insert(j.serial);
        jobs_.push_back(std::move(j));
    }
    overdue_.clear();
    // A message spooled a moment ago comes from memory (spool::fresh_files), the rest from disk;
    // either way in the jobs' order, which is the scheduler's (priority, then age): admission
    // lets the first units through.
    std::vector<std::optional<loaded>> slots(jobs_.size());
    std::vector<std::size_t> unread;
    for (std::size_t k = 0; k < jobs_.size(); ++k) {
        const auto& j = jobs_[k];
        auto text = r_.fresh_.take(j.id);
        auto rec = text ? spool::parse(*text) : std::nullopt;
        if (rec)
            slots[k] = loaded{j, std::move(*text), std::move(*rec), std::nullopt, {}};
        else
            unread.push_back(k);
    }
    std::map<std::size_t, std::string> unreadable;  // by position in jobs_: why
    if (!unread.empty()) {
        auto where = r_.where_;
        co_await util::offload(r_.workers_, [&where, &unread, &slots, &unreadable, this] {
            for (auto k : unread) {
                const auto& j = jobs_[k];
                auto path = where.message(j.id);
                auto text = spool::read_file(path);
                std::string error = text ? "" : "cannot be read";
                auto rec = text ? spool::parse(*text, &error) : std::nullopt;
                std::error_code ec;
                if (rec)
                    slots[k] = loaded{j, std::move(*text), std::move(*rec), std::nullopt, {}};
                else if (std::filesystem::exists(path, ec) || ec)
                    unreadable[k] = error;
            }
        });
    }
    for (const auto& [k, error] : unreadable)
        retry_unreadable(jobs_[k], error);
    for (auto& slot : slots)
        if (slot)
            items_.push_back(std::move(*slot));
}

void delivery_batch::retry_unreadable(job j, const std::string& error) {
    auto t = r_.now();
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    j.attempts += 1;
    j.next_attempt = t + retry_delay(cfg_.delivery.retry, j.attempts, jitter(r_.random_)).count();
    j.last_reply = fmt::format("spool file unreadable: {}", error);
    j.waiting.clear();
    log::error(
        "spool_unreadable",
        {{"queue_id", j.id}, {"error", error}, {"attempt", j.attempts}, {"at", "delivery"}}
    );
    r_.reschedule(std::move(j), t);
}

// Delivery units. The file is the authority: a recipient with a result is never sent again, and
// one already in another batch (a duplicate job) is left to that batch. A held message waits for
// release. Recipients on the suppression list are not sent at all.
void delivery_batch::form_units() {
    auto* feedback = r_.feedback_;
    for (std::size_t k = 0; k < items_.size(); ++k) {
        const auto& it = items_[k];
        bool verp = feedback && feedback->verp() && !it.rec.env.reverse_path.empty();
        unit together{k, {}, {}};
        std::set<std::size_t> final_here;
        for (const auto& r : it.rec.results)
            final_here.insert(r.index);
        bool late = overdue_serials_.count(it.j.serial) != 0;
        for (std::size_t n = 0; n < it.j.rcpts.size(); ++n) {
            auto index = it.j.rcpts[n];
            if (r_.held_.count(it.j.id) || final_here.count(index) ||
                r_.unrecorded_rcpts_.count({it.j.id, index}) ||
                !r_.claimed_.insert({it.j.id, index}).second)
                continue;
            mine_.emplace_back(it.j.id, index);
            const auto& address = it.rec.env.recipients[index].address;
            if (auto why = feedback ? feedback->suppressed(address) : std::nullopt)
                dropped_.push_back({k, {n}, *why});
            else if (late)
                expired_units_.push_back({k, {n}, {}});
            else if (verp)
                units_.push_back({k, {n}, {}});
            else
                together.positions.push_back(n);
        }
        if (!together.positions.empty())
            units_.push_back(std::move(together));
    }
    units_formed_ = true;
}

// The warming admission splits the units into groups by source IP (one connection each) and
// those that wait; each group is sent in turn.
asio::awaitable<void> delivery_batch::transact() {
    if (route_failure_ || units_.empty()) {
        for (const auto& u : units_)
            co_await record(u, nullptr);
        co_return;
    }
    // In a cluster the destination's rate is counted across nodes first; what it does not permit
    // now waits like what this node's own shaping holds back.
    auto cluster = co_await cluster_permits();
    auto admitted = r_.shaper_.admit(
        *shaped_, cluster ? cluster->granted : units_.size(), std::chrono::system_clock::now(),
        std::chrono::steady_clock::now()
    );
    if (cluster) {
        std::size_t sent = 0;
        for (const auto& g : admitted.groups)
            sent += g.transactions.size();
        if (sent < cluster->granted)
            r_.shared_shaping_->refund(
                shaped_->key, *shaped_->configured.pace, cluster->granted - sent, cluster->shared
            );
    }
    if (cluster && cluster->granted < units_.size()) {
        for (auto k = cluster->granted; k < units_.size(); ++k)
            admitted.waiting.push_back(k);
        if (!admitted.why)
            admitted.why = cluster->why;
    }
    for (const auto& g : admitted.groups)
        if (g.unit)
            untried_units_.insert(untried_units_.end(), g.transactions.size(), *g.unit);
    for (const auto& notice : admitted.notices)
        log::warn("warming_gate", {{"destination", destination_}, {"gate", notice}});
    // What waits goes back now, unless its lifetime is over: then it is bounced now (4.4.7).
    for (auto w : admitted.waiting) {
        const auto& u = units_[w];
        if (expired(items_[u.item].rec.arrived, r_.now(), lifetime_)) {
            held_back_ = admitted.why->reason;
            co_await record(u, nullptr);
            held_back_.clear();
            continue;
        }
        put_back(u, *admitted.why);
    }
    if (!admitted.waiting.empty())
        log::debug(
            "delivery_waiting", {{"destination", destination_},
                                 {"transactions", admitted.waiting.size()},
                                 {"reason", admitted.why->reason}}
        );
    auto opts = delivery_options();
    if (mta_sts_ || !dane_.empty())
        opts.on_connection = [this](const delivery::attempt& a) { note_tls_session(a); };
    for (const auto& group : admitted.groups)
        co_await send_from(group, opts);
}

// The permits of the destination's rate that the cluster grants this batch now; nullopt when
// there is no cluster or the destination has no rate.
asio::awaitable<std::optional<delivery_batch::shared_permits>> delivery_batch::cluster_permits() {
    if (!r_.shared_shaping_ || !shaped_ || !shaped_->configured.pace)
        co_return std::nullopt;
    auto p = co_await r_.shared_shaping_->acquire(
        shaped_->key, *shaped_->configured.pace, units_.size()
    );
    shared_permits out;
    out.granted = std::min(p.granted, units_.size());
    out.shared = p.shared;
    out.why.until =
        std::chrono::system_clock::now() + std::max(p.wait, std::chrono::milliseconds(1));
    out.why.reason = fmt::format(
        "{} rate {}", p.shared ? "cluster" : "this node's share of the cluster's",
        shaped_->configured.pace->text()
    );
    co_return out;
}

delivery::options delivery_batch::delivery_options() const {
    const auto& d = cfg_.delivery;
    auto in_ms = [](config::duration t) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(t);
    };
    delivery::options opts;
    opts.tls = configured_tls();
    if (opts.tls == delivery::tls_policy::verify)
        opts.tls_context = r_.verifying_tls_;
    if (mta_sts_ && mta_sts_->policy.mode == tlspolicy::sts_mode::enforce) {
        opts.tls = delivery::tls_policy::verify;
        opts.tls_context = r_.verifying_tls_;
    } else if (mta_sts_ && mta_sts_->policy.mode == tlspolicy::sts_mode::testing && r_.verifying_tls_) {
        opts.check_certificate = true;  // reported, not enforced
        opts.tls_context = r_.verifying_tls_;
    }
    opts.cache = r_.connections_.get();
    opts.parking.idle = in_ms(d.idle_connection_time);
    opts.parking.scope = shaped_->key;
    opts.parking.per_scope = shaped_->configured.max_connections
                                 ? shaped_->configured.max_connections
                                 : d.max_connections_per_destination;
    opts.parking.total = d.max_connections;
    opts.cache_scope = destination_;
    opts.max_messages_per_connection = shaped_->configured.max_messages_per_connection
                                           ? shaped_->configured.max_messages_per_connection
                                           : d.max_messages_per_connection;
    opts.limits.connect = in_ms(d.connect_timeout);
    opts.limits.greeting = opts.limits.command = in_ms(d.command_timeout);
    opts.limits.tls_handshake = in_ms(d.tls_handshake_timeout);
    opts.limits.data_start = in_ms(d.data_start_timeout);
    opts.limits.data_block = in_ms(d.data_write_timeout);
    opts.limits.data_end = in_ms(d.data_end_timeout);
    return opts;
}

// One connection from the group's source IP, its transactions one after the other; each
// transaction's results are made durable before the next one starts.
asio::awaitable<void> delivery_batch::send_from(
    const shaping::admission::group& group, delivery::options& opts
) {
    // The group's units are no longer untried once delivery has them (or they went back).
    auto tried = [&] {
        for (std::size_t n = 0; group.unit && n < group.transactions.size(); ++n)
            if (auto it = std::find(untried_units_.begin(), untried_units_.end(), *group.unit);
                it != untried_units_.end())
                untried_units_.erase(it);
    };
    opts.source.reset();
    opts.ehlo_name = cfg_.server.hostname;
    // By address in this batch's config: a reload may have reordered the pool.
    const config::source_ip* ip = nullptr;
    for (const auto& candidate : cfg_.source_ips)
        if (group.source && candidate.address.to_string() == group.address)
            ip = &candidate;
    if (group.source && !ip) {
        // The IP left the config since this batch started: try again shortly.
        tried();
        for (auto c : group.transactions) {
            give_back(group);
            put_back(
                units_[c], {std::chrono::system_clock::now() + std::chrono::seconds(1),
                            fmt::format("source IP {} left the config", group.address)}
            );
        }
        co_return;
    }
    sending_from_.reset();
    if (ip) {
        sending_from_ = static_cast<std::size_t>(ip - cfg_.source_ips.data());
        opts.source = ip->address;
        if (!ip->ehlo.empty())
            opts.ehlo_name = ip->ehlo;
    }
    const auto& chosen = group.transactions;
    std::string source_text = opts.source ? opts.source->to_string() : std::string();
    std::vector<bool> handled(chosen.size(), false);
    auto turn_started = std::chrono::steady_clock::now();
    opts.on_decided = [&](std::size_t k,
                          const delivery::delivery_result& r) -> asio::awaitable<void> {
        auto turn_ended = std::chrono::steady_clock::now();
        util::metrics().transaction_seconds.observe(
            std::chrono::duration<double>(turn_ended - turn_started).count()
        );
        handled[k] = true;
        co_await record(units_[chosen[k]], &r);
        turn_started = std::chrono::steady_clock::now();  // durable: the next turn
    };
    auto* feedback = r_.feedback_;
    std::vector<delivery::message> messages;
    std::vector<suppression::sent_entry> sent;
    auto t = r_.now();
    for (auto c : chosen) {
        const auto& u = units_[c];
        const auto& it = items_[u.item];
        delivery::message m;
        m.mail_from = it.rec.env.reverse_path;
        if (feedback && feedback->verp() && u.positions.size() == 1 && !m.mail_from.empty()) {
            auto index = it.j.rcpts[u.positions[0]];
            m.mail_from = feedback->return_path(m.mail_from, it.j.id, index);
            sent.push_back(
                {it.j.id, index, it.rec.env.recipients[index].address, t, source_text,
                 shaped_->provider, message_id_of(it)}
            );
        }
        for (auto p : u.positions)
            m.recipients.push_back(it.rec.env.recipients[it.j.rcpts[p]]);
        m.body = it.rec.env.body;
        m.smtputf8 = it.rec.env.smtputf8;
        m.ret = it.rec.env.ret;
        m.envid = it.rec.env.envid;
        m.content.push_back(asio::buffer(it.file.data() + it.rec.message_offset, it.rec.size));
        messages.push_back(std::move(m));
    }
    if (feedback)
        feedback->remember_sent(sent);
    tried();
    auto results =
        co_await delivery::deliver(r_.io_.get_executor(), targets_, opts, std::move(messages));
    for (std::size_t k = 0; k < chosen.size(); ++k)
        if (!handled[k])
            co_await record(units_[chosen[k]], k < results.size() ? &results[k] : nullptr);
    for (const auto& r : results)
        if (r.host.empty())
            give_back(group);
}

// What one unit's outcome means: results made durable in the spool file first, then logged,
// rescheduled, bounced with a DSN, fed to the suppression list, and the file removed once every
// recipient is final.
asio::awaitable<void> delivery_batch::record(const unit& u, const delivery::delivery_result* r) {
    const auto& it = items_[u.item];
    auto t = r_.now();
    attempt_facts facts{
        u.suppressed, route_failure_ ? &*route_failure_ : nullptr, held_back_, it.rec.arrived, t,
        lifetime_};
    std::vector<recipient_outcome> outcomes;
    std::vector<outcome_line> lines;
    for (std::size_t p = 0; p < u.positions.size(); ++p) {
        auto index = it.j.rcpts[u.positions[p]];
        const auto* result = r && p < r->recipients.size() ? &r->recipients[p] : nullptr;
        outcomes.push_back(decide_outcome(index, result, facts));
        lines.push_back(outcomes.back().line);
        // A deferred one is this batch's until it goes back to the scheduler below (abandon()
        // puts it back should anything fail before then).
        if (lines.back().what != outcome_line::kind::deferred)
            decided_.insert({it.j.id, index});
    }

    if (r && shaped_)
        react(*r, lines);

    // Bounced recipients get a DSN to the sender (when they want one), one per message: it is
    // composed once no recipient of the message is in flight (send_due_dsn), after the bounces
    // are durable. A suppressed recipient is dropped silently, as the operator configured.
    std::string host = r ? r->host : std::string();
    std::vector<dsn_recipient> bounced;
    if (u.suppressed.empty())
        for (const auto& o : lines)
            if (o.what == outcome_line::kind::bounced)
                bounced.push_back({o.index, o.status, o.reply, host, t});

    // Deferred recipients come back after the retry schedule's next delay; the schedule goes
    // into the spool file with the results, so a restart keeps it.
    unsigned attempt = it.j.attempts + 1;
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    auto retry_at = t + retry_delay(cfg_.delivery.retry, attempt, jitter(r_.random_)).count();
    std::string retries;
    for (const auto& o : lines)
        if (o.what == outcome_line::kind::deferred)
            retries += spool::format_retry({o.index, attempt, retry_at, o.reply});

    // A transaction that settles the message with nothing to report takes it out of queue/ in
    // the writer's next group commit, and its leaving is the record: no results appended, no
    // retirement after. Should that fail, the results are recorded as for any other.
    bool removed = false;
    if (bounced.empty() && retries.empty() && settles(it, lines)) {
        auto [ec] = co_await r_.writer_.async_retire(it.j.id, asio::as_tuple(asio::use_awaitable));
        removed = !ec || ec == std::errc::no_such_file_or_directory;
    }
    bool complete = removed;
    if (!removed)
        complete = co_await make_durable(it, lines, bounced, std::move(retries), t);
    report(u, outcomes, r, attempt, t, retry_at);

    job again = it.j;
    again.rcpts.clear();
    for (const auto& o : lines)
        if (o.what == outcome_line::kind::deferred) {
            again.rcpts.push_back(o.index);
            again.last_reply = o.reply;
        }
    if (!again.rcpts.empty()) {
        again.attempts = attempt;
        again.waiting.clear();
        again.next_attempt = retry_at;
        for (auto index : again.rcpts)
            release({it.j.id, index});
        r_.reschedule(std::move(again), t);
    }

    // With a DSN still to send, send_due_dsn() removes the file after it.
    // Nor while results of this message wait in memory for the spool (retry_unrecorded): the
    // file is where they, and the bounces a DSN must report, are going.
    if (!removed && complete && !r_.dsn_due_.count(it.j.id) && !r_.dsn_sending_.count(it.j.id) &&
        !r_.unrecorded_.count(it.j.id)) {
        r_.writer_.retire(it.j.id);  // logs event=message_done
    }
}

// The receiver's answers tell the throttle to slow down, and the warming health gates what
// became of mail from this source IP.
void delivery_batch::react(
    const delivery::delivery_result& r, const std::vector<outcome_line>& lines
) {
    auto steady = std::chrono::steady_clock::now();
    bool from_pool = sending_from_ && *sending_from_ < cfg_.source_ips.size();
    // A slow-down backs off the source IP that heard it, not its warm neighbours.
    auto source = from_pool ? cfg_.source_ips[*sending_from_].address.to_string() : std::string();
    auto slow_down = [&](const smtp::reply& reply) {
        // Only the receiver's own words can ask us to slow down.
        if (reply.local)
            return;
        auto change =
            r_.shaper_.on_reply(*shaped_, reply, steady, std::chrono::system_clock::now(), source);
        if (!change)
            return;
        util::metrics().backoffs_started.add(
            std::string_view(change->key).substr(0, change->key.find(':'))
        );
        if (r_.shared_shaping_)
            r_.shared_shaping_->backoff_started(
                r_.shaper_.backoff_of(change->key, std::chrono::system_clock::now(), steady)
            );
        log::warn(
            "throttle_backoff", {{"key", change->key},
                                 {"destination", destination_},
                                 {"reply", reply.summary()},
                                 {"why", change->rule ? change->rule->why : std::string()},
                                 {"suspended_s", change->change.suspension.count()},
                                 {"rate_fraction", fmt::format("{:.2f}", change->change.fraction)},
                                 {"repeats", change->change.repeats}}
        );
    };
    // Every reply a server gave, at any stage, once per transaction: ten recipients refused with
    // the same 421 are one request to slow down, not ten.
    std::set<std::string> seen;
    if (r.refusal && seen.insert(r.refusal->summary()).second)
        slow_down(*r.refusal);
    for (const auto& rr : r.recipients)
        if (rr.stage != smtp::client_stage::none && seen.insert(rr.response.summary()).second)
            slow_down(rr.response);
    // Only mail a receiver saw counts for the health gates, as for the warming cap.
    if (!from_pool || r.host.empty())
        return;
    shaping::daily_counts delta;
    for (const auto& o : lines) {
        delta.deferred += o.what == outcome_line::kind::deferred;
        delta.bounced += o.what == outcome_line::kind::bounced;
    }
    if (delta.deferred || delta.bounced)
        r_.shaper_.record(source, shaped_->provider, std::chrono::system_clock::now(), delta);
}

// Every recipient of the message final once these lines are, with nothing else of it at work:
// no other batch (whose results could still come), no DSN waiting or being sent, no results
// waiting in memory for room in the spool. Known from what was read with the message and what
// this batch made final, so a message another batch has appended to since is not settled here.
bool delivery_batch::settles(const loaded& it, const std::vector<outcome_line>& lines) const {
    const auto& id = it.j.id;
    auto batches = r_.batches_of_.find(id);
    if (batches != r_.batches_of_.end() && batches->second > 1)
        return false;
    if (r_.dsn_due_.count(id) || r_.dsn_sending_.count(id) || r_.unrecorded_.count(id))
        return false;
    auto count = it.rec.env.recipients.size();
    auto known = it.made_final;
    for (const auto& result : it.rec.results)
        if (result.index < count)
            known.insert(result.index);
    for (const auto& o : lines) {
        if (o.what == outcome_line::kind::deferred)
            return false;
        if (o.index < count)
            known.insert(o.index);
    }
    return known.size() == count;
}

// Durable first: the results go into the spool file before anything acts on them. True when
// every recipient of the message now has a result. Unless what this batch knows settles it, the
// file decides: another job of this message (another domain, another unit) may have appended its
// results meanwhile; each reads the results back after its own append, so the last one sees them
// all.
asio::awaitable<bool> delivery_batch::make_durable(
    const loaded& it,
    const std::vector<outcome_line>& lines,
    const std::vector<dsn_recipient>& bounced,
    std::string retries,
    std::int64_t t
) {
    std::string appended;
    for (const auto& o : lines)
        if (o.what != outcome_line::kind::deferred)
            appended += spool::format_result({o.index, spool_kind(o.what), t, o.reply});
    const auto& id = it.j.id;
    if (appended.empty()) {
        if (retries.empty())
            co_return false;
        // Only deferrals: the schedule in memory holds either way; a lost line means an early
        // retry after a restart, never a lost message.
        auto [ec] = co_await r_.writer_.async_append(
            id, std::move(retries), asio::as_tuple(asio::use_awaitable)
        );
        if (ec)
            log::warn("retry_state_not_saved", {{"queue_id", id}, {"error", ec.message()}});
        co_return false;
    }
    // Through the spool writer, so concurrent transactions share one sync.
    auto [ec] = co_await r_.writer_.async_append(
        id, appended + retries, asio::as_tuple(asio::use_awaitable)
    );
    if (ec) {
        // The receiver has answered: sending again would be a duplicate. The results wait in
        // memory until the spool has room (retry_unrecorded), and their recipients are not
        // scheduled meanwhile; a crash before then sends them again, as for any delivery in
        // flight.
        log::error("spool_append_failed", {{"queue_id", id}, {"error", ec.message()}});
        auto& pending = r_.unrecorded_[id];
        pending.text += appended;
        pending.bounced.insert(pending.bounced.end(), bounced.begin(), bounced.end());
        for (const auto& o : lines)
            if (o.what != outcome_line::kind::deferred)
                r_.unrecorded_rcpts_.insert({id, o.index});
        if (!r_.unrecorded_retry_at_)
            r_.unrecorded_retry_at_ = t + 5;
        co_return false;
    }
    if (!bounced.empty())
        r_.make_due(id, bounced, t);
    auto count = it.rec.env.recipients.size();
    // Results only ever grow: when those read with the message and those this batch has made
    // durable since cover every recipient, so does the file, and nothing needs reading back
    // (the common case: every recipient at one destination, one transaction).
    for (const auto& o : lines)
        if (o.what != outcome_line::kind::deferred && o.index < count)
            it.made_final.insert(o.index);
    auto known = it.made_final;
    for (const auto& result : it.rec.results)
        if (result.index < count)
            known.insert(result.index);
    if (known.size() == count)
        co_return true;
    auto path = r_.where_.message(id);
    auto offset = it.rec.message_offset + it.rec.size;
    co_return co_await util::offload(r_.workers_, [&path, offset, count] {
        return all_final_on_disk(path, offset, count);
    });
}

// The log line, metrics and suppression feedback of each recipient's outcome.
void delivery_batch::report(
    const unit& u,
    const std::vector<recipient_outcome>& outcomes,
    const delivery::delivery_result* r,
    unsigned attempt,
    std::int64_t t,
    std::int64_t retry_at
) {
    const auto& it = items_[u.item];
    auto delay_s = t - it.rec.arrived;
    auto* feedback = r_.feedback_;
    for (const auto& outcome : outcomes) {
        const auto& o = outcome.line;
        const auto& address = it.rec.env.recipients[o.index].address;
        bool delivered = o.what == outcome_line::kind::delivered;
        bool bounced = o.what == outcome_line::kind::bounced;
        const char* what = !u.suppressed.empty() ? "suppressed"
                           : delivered           ? "sent"
                           : bounced             ? "bounced"
                                                 : "deferred";
        log::info(
            "delivery", {{"queue_id", it.j.id},
                         {"rcpt", address},
                         {"status", what},
                         {"dsn", o.status},
                         {"mx", r ? r->host : std::string()},
                         {"address", r ? r->address : std::string()},
                         {"tls", r ? r->tls : std::string()},
                         {"tls_policy", tls_policy_name(r ? r->host : std::string())},
                         {"peer", r ? r->verified_peer : std::string()},
                         {"reply", o.reply},
                         {"attempt", attempt},
                         {"delay", delay_s}}
        );
        if (r_.events_)
            emit_event(it, u, outcome, r, attempt, retry_at);
        auto& metrics = util::metrics();
        (delivered ? metrics.rcpt_delivered
         : bounced ? metrics.rcpt_bounced
                   : metrics.rcpt_deferred)
            .add();
        using provider_outcome = util::provider_outcomes::outcome;
        metrics.by_provider.add(
            provider_label_, delivered ? provider_outcome::delivered
                             : bounced ? provider_outcome::bounced
                                       : provider_outcome::deferred
        );
        if (delivered && u.suppressed.empty())
            metrics.delivered_by_tls_policy.add(tls_policy_name(r ? r->host : std::string()));
        if (delivered && u.suppressed.empty())
            metrics.delivery_delay_seconds.observe(
                std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                    .count() -
                static_cast<double>(it.rec.arrived)
            );
        if (!feedback || !u.suppressed.empty())
            continue;
        if (delivered)
            feedback->on_delivered(address);
        else if (bounced && outcome.reply)
            feedback->on_reply(
                address, *outcome.reply, outcome.phase, it.j.id, message_id_of(it), t,
                r ? r->host : std::string()
            );
        else if (bounced && route_failure_ && route_failure_->permanent)
            feedback->on_reply(
                address, smtp::reply{550, o.status, route_failure_->text},
                bounce::reply_phase::other, it.j.id, message_id_of(it), t
            );
    }
}

// The event of one recipient's outcome: what the log line says, with the message's Message-ID,
// the submitter, the tags, and for a bounce its classification.
void delivery_batch::emit_event(
    const loaded& it,
    const unit& u,
    const recipient_outcome& outcome,
    const delivery::delivery_result* r,
    unsigned attempt,
    std::int64_t retry_at
) {
    const auto& o = outcome.line;
    events::event e;
    using kind = events::kind;
    e.what = !u.suppressed.empty()                             ? kind::suppressed
             : o.what == outcome_line::kind::delivered         ? kind::delivered
             : o.what == outcome_line::kind::deferred          ? kind::deferred
             : o.status == "4.4.7" && outcome.reply == nullptr ? kind::expired
                                                               : kind::bounced;
    e.queue_id = it.j.id;
    e.message_id = message_id_of(it);
    e.auth_user = it.rec.env.auth_user;
    e.sender = it.rec.env.reverse_path;
    e.recipient = it.rec.env.recipients[o.index].address;
    e.destination = destination_;
    e.tags = it.rec.env.tags;
    e.attempt = attempt;
    if (r) {
        e.mx = r->host;
        e.mx_address = r->address;
        e.tls = r->tls;
    }
    if (sending_from_ && *sending_from_ < cfg_.source_ips.size())
        e.source_ip = cfg_.source_ips[*sending_from_].address.to_string();
    e.status = o.status;
    e.reply = o.reply;
    if (outcome.reply) {
        e.reply_code = outcome.reply->code;
        e.reply = outcome.reply->summary();
    }
    if (e.what == kind::deferred)
        e.next_attempt = retry_at;
    if (e.what == kind::bounced || e.what == kind::deferred) {
        auto c = outcome.reply ? bounce::classify(*outcome.reply, outcome.phase, e.mx)
                               : bounce::classification{};
        if (outcome.reply) {
            e.reason = std::string(bounce::to_string(c.why));
            e.severity =
                e.what == kind::bounced && c.hardness == bounce::severity::hard ? "hard" : "soft";
        } else if (e.what == kind::bounced) {
            e.severity = "hard";  // no reply: a route that cannot work (null MX, no such domain)
        }
    }
    r_.events_(std::move(e));
}

// Something failed (an exception out of a stage): put back what this batch still holds, so
// nothing is forgotten until restart. Before the units were formed, every job; after, only the
// recipients it claimed and did not decide (the others were put back, or are final, already).
void delivery_batch::abandon(const std::exception& e) {
    log::error("delivery_failed", {{"destination", destination_}, {"error", e.what()}});
    for (const auto& key : untried_units_)
        if (!r_.shaper_.give_back(key))
            log::warn("warming_give_back_failed", {{"ip", key.ip}, {"provider", key.provider}});
    auto t = r_.now();
    for (auto& j : overdue_)
        jobs_.push_back(std::move(j));
    overdue_.clear();
    std::set<claim> held(mine_.begin(), mine_.end());
    for (auto& j : jobs_) {
        if (units_formed_)
            std::erase_if(j.rcpts, [&](std::uint32_t index) {
                claim c{j.id, index};
                return !held.count(c) || decided_.count(c);
            });
        if (j.rcpts.empty())
            continue;
        j.attempts += 1;
        j.next_attempt = t + 60;
        j.last_reply = e.what();
        j.waiting.clear();
        r_.scheduler_.add(std::move(j), t);
    }
}

// The connection slot and the claims go back; the last batch of a message to finish sends its
// DSN, for every bounce of this event.
asio::awaitable<void> delivery_batch::finish() {
    if (holding_)
        r_.shaper_.closed(*holding_);
    if (holding_ && lease_ && r_.shared_shaping_)
        r_.shared_shaping_->close_connection(holding_->key, *lease_);
    for (const auto& c : mine_)
        r_.claimed_.erase(c);
    for (const auto& id : messages_)
        if (--r_.batches_of_[id] == 0)
            r_.batches_of_.erase(id);
    for (const auto& id : messages_)
        if (r_.dsn_due_.count(id))
            co_await r_.send_due_dsn(id);
    r_.scheduler_.finished(destination_);
    --r_.in_flight_;
    r_.poke();
}

void delivery_batch::wait_with(job j, const shaping::wait& w) {
    auto t = r_.now();
    auto until = std::chrono::duration_cast<std::chrono::seconds>(
                     w.until.time_since_epoch() + std::chrono::milliseconds(999)
    )
                     .count();
    auto end_of_life =
        j.arrived + std::chrono::duration_cast<std::chrono::seconds>(lifetime_).count();
    j.next_attempt = std::max(t + 1, std::min(until, end_of_life));
    j.waiting = w.reason;
    r_.reschedule(std::move(j), t);
}

void delivery_batch::hold_back(job j, const shaping::wait& w) {
    if (expired(j.arrived, r_.now(), lifetime_)) {
        held_back_ = w.reason;
        overdue_.push_back(std::move(j));
    } else {
        wait_with(std::move(j), w);
    }
}

void delivery_batch::put_back(const unit& u, const shaping::wait& w) {
    job again = items_[u.item].j;
    again.rcpts.clear();
    for (auto p : u.positions) {
        auto index = items_[u.item].j.rcpts[p];
        again.rcpts.push_back(index);
        release({again.id, index});
    }
    wait_with(std::move(again), w);
}

void delivery_batch::release(const claim& c) {
    r_.claimed_.erase(c);
    std::erase(mine_, c);
}

void delivery_batch::give_back(const shaping::admission::group& g) {
    if (g.unit && !r_.shaper_.give_back(*g.unit))
        log::warn("warming_give_back_failed", {{"ip", g.unit->ip}, {"provider", g.unit->provider}});
}

const std::string& delivery_batch::message_id_of(const loaded& it) {
    if (!it.message_id)
        it.message_id = message::message_id_of(
            std::string_view(it.file).substr(it.rec.message_offset, it.rec.size)
        );
    return *it.message_id;
}

}  // namespace outpost::queue
