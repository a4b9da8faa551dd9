#include "core/queue/runner.hpp"

#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include "core/delivery/delivery.hpp"
#include "core/delivery/targets.hpp"
#include "core/dns/destination.hpp"
#include "core/message/header.hpp"
#include "core/queue/dsn.hpp"
#include "core/queue/feedback.hpp"
#include "core/queue/retry.hpp"
#include "core/spool/queue_id.hpp"
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

std::string status_of(const smtp::reply& r, bool permanent) {
    if (!r.enhanced.empty())
        return r.enhanced;
    return permanent ? "5.0.0" : "4.0.0";
}

delivery::tls_policy tls_for(const config::config& cfg, const std::string& domain) {
    std::string policy = cfg.delivery.tls;
    for (const auto& d : cfg.domains)
        if (util::iequals(d.domain, domain) && !d.tls.empty())
            policy = d.tls;
    if (policy == "none")
        return delivery::tls_policy::none;
    if (policy == "required")
        return delivery::tls_policy::required;
    return delivery::tls_policy::opportunistic;
}

const config::route* route_for(const config::config& cfg, const std::string& domain) {
    for (const auto& r : cfg.routes)
        for (const auto& d : r.domains)
            if (d == "*" || util::iequals(d, domain))
                return &r;
    return nullptr;
}

// A recipient's outcome after one attempt, as the runner records and logs it.
struct outcome_line {
    std::uint32_t index;
    enum class kind { delivered, bounced, deferred } what;
    std::string reply;
    std::string status;
};

}  // namespace

runner::runner(
    asio::io_context& io,
    std::shared_ptr<const config::config> cfg,
    spool::layout where,
    spool::writer& writer,
    asio::thread_pool& workers,
    dns::resolver& resolver,
    shaping::counter_store* counters,
    shaping::throttle_store* backoffs
)
    : io_(io),
      cfg_(std::move(cfg)),
      shaper_(
          *cfg_,
          counters,
          backoffs,
          std::chrono::system_clock::now(),
          std::chrono::steady_clock::now()
      ),
      where_(std::move(where)),
      writer_(writer),
      workers_(workers),
      resolver_(resolver),
      wake_(io) {}

void runner::reconfigure(std::shared_ptr<const config::config> cfg) {
    shaper_.reconfigure(*cfg);
    cfg_ = std::move(cfg);
    // What waited under the old caps and rates is asked again under the new ones.
    auto n = scheduler_.flush_waiting(now());
    if (n)
        log::info("reload_requeued", {{"jobs", n}});
    poke();
}

void runner::returned(const suppression::sent_entry& sent, bool complaint, std::int64_t at) {
    if (sent.source.empty())
        return;
    shaping::daily_counts delta;
    (complaint ? delta.complaints : delta.bounced) = 1;
    shaper_.record(
        sent.source, sent.provider, std::chrono::system_clock::time_point{std::chrono::seconds(at)},
        delta
    );
}

std::vector<shaping::warming_use> runner::warming_usage() {
    return shaper_.warming_usage(std::chrono::system_clock::now());
}

std::vector<shaping::key_status> runner::throttle_status() {
    return shaper_.status(std::chrono::system_clock::now(), std::chrono::steady_clock::now());
}

void runner::suspend_key(const std::string& key, std::chrono::seconds length) {
    shaper_.suspend(
        key, length, std::chrono::system_clock::now(), std::chrono::steady_clock::now()
    );
    log::warn("throttle_suspended", {{"key", key}, {"for_s", length.count()}, {"by", "operator"}});
}

void runner::resume_key(const std::string& key) {
    shaper_.resume(key, std::chrono::system_clock::now());
    log::info("throttle_resumed", {{"key", key}, {"by", "operator"}});
    if (auto n = scheduler_.flush_waiting(now()))
        log::info("throttle_requeued", {{"key", key}, {"jobs", n}});
    poke();
}

std::int64_t runner::now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

void runner::poke() {
    wake_.cancel();
}

void runner::start() {
    asio::co_spawn(
        io_,
        [this]() -> asio::awaitable<void> {
            // Recovery: every message in queue/ with recipients still pending is scheduled now.
            auto where = where_;
            std::vector<std::string> held;
            std::map<std::string, std::vector<dsn_recipient>> due;  // bounced, no DSN yet
            auto jobs = co_await util::offload(workers_, [&where, &held, &due] {
                std::vector<job> out;
                for (const auto& id : spool::list_queue(where)) {
                    std::error_code marker_error;
                    if (std::filesystem::exists(where.hold_marker(id), marker_error)) {
                        held.push_back(id);
                        continue;
                    }
                    auto text = spool::read_file(where.message(id));
                    std::string error;
                    auto rec = text ? spool::parse(*text, &error) : std::nullopt;
                    if (!rec) {
                        log::error("spool_unreadable", {{"queue_id", id}, {"error", error}});
                        continue;
                    }
                    auto pending = jobs_for(*rec);
                    if (auto bounces = unreported_bounces(*rec); !bounces.empty()) {
                        due[id] = std::move(bounces);  // the DSN comes first, then the removal
                    } else if (pending.empty()) {
                        // Every recipient was final, but the crash came before the removal.
                        std::error_code ec;
                        std::filesystem::remove(where.message(id), ec);
                        log::info("message_done", {{"queue_id", id}, {"at", "recovery"}});
                    }
                    for (auto& j : pending)
                        out.push_back(std::move(j));
                }
                return out;
            });
            auto t = now();
            for (auto& j : jobs)
                if (!early_.count(j.id))  // spooled during the scan: submitted() scheduled it
                    scheduler_.add(std::move(j), t);
            early_.clear();
            held_.insert(held.begin(), held.end());
            log::info(
                "queue_recovered",
                {{"jobs", jobs.size()}, {"held", held.size()}, {"dsns_due", due.size()}}
            );
#ifdef __GLIBC__
            // Reading every spool file left its buffers free in the worker thread's malloc
            // arena: return them, or a restarted daemon holds that memory for good.
            ::malloc_trim(0);
#endif
            for (auto& [id, bounces] : due) {
                dsn_due_[id] = std::move(bounces);
                dsn_first_due_[id] = t;
                co_await send_due_dsn(id);
            }
            started_ = true;
            co_await loop();
        },
        asio::detached
    );
}

void runner::submitted(const std::string& id, const smtp::envelope& env, std::int64_t arrived) {
    if (!started_)
        early_.insert(id);
    spool::record rec;
    rec.id = id;
    rec.arrived = arrived;
    rec.env.recipients = env.recipients;
    rec.env.priority = env.priority;
    auto t = now();
    for (auto& j : jobs_for(rec))
        scheduler_.add(std::move(j), t);
    poke();
}

std::size_t runner::flush(
    const std::optional<std::string>& destination, const std::optional<std::string>& id
) {
    auto n = scheduler_.flush(now(), destination, id);
    poke();
    return n;
}

bool runner::remove(const std::string& id) {
    if (!spool::valid_queue_id(id))
        return false;
    bool was_held = held_.erase(id) != 0;
    if (!was_held && scheduler_.remove(id) == 0)
        return false;
    std::error_code ignored;
    std::filesystem::remove(where_.hold_marker(id), ignored);
    std::error_code ec;
    std::filesystem::remove(where_.message(id), ec);
    log::info("message_deleted", {{"queue_id", id}});
    return !ec;
}

bool runner::hold(const std::string& id) {
    if (!spool::valid_queue_id(id) || held_.count(id))
        return held_.count(id) != 0;
    if (scheduler_.remove(id) == 0)
        return false;  // unknown, or in flight (its results decide what happens next)
    { std::ofstream marker(where_.hold_marker(id)); }
    held_.insert(id);
    log::info("message_held", {{"queue_id", id}});
    return true;
}

asio::awaitable<bool> runner::release(std::string id) {
    if (!held_.count(id))
        co_return false;
    held_.erase(id);
    std::error_code ec;
    std::filesystem::remove(where_.hold_marker(id), ec);
    auto path = where_.message(id);
    auto rec = co_await util::offload(workers_, [&path] {
        auto text = spool::read_file(path);
        return text ? spool::parse(*text) : std::nullopt;
    });
    if (!rec)
        co_return false;
    auto t = now();
    for (auto& j : jobs_for(*rec)) {
        j.next_attempt = 0;  // released: now, whatever its retry schedule said
        scheduler_.add(std::move(j), t);
    }
    log::info("message_released", {{"queue_id", id}});
    poke();
    co_return true;
}

asio::awaitable<void> runner::loop() {
    while (!stopping_) {
        auto per_destination =
            std::max<std::size_t>(1, cfg_->delivery.max_connections_per_destination);
        scheduler_.wake(now());
        if (dsn_retry_at_ && now() >= dsn_retry_at_)
            co_await retry_due_dsns();
        if (unrecorded_retry_at_ && now() >= unrecorded_retry_at_)
            co_await retry_unrecorded();
        for (;;) {
            auto jobs = scheduler_.take(
                std::max<std::size_t>(1, cfg_->delivery.max_messages_per_connection),
                per_destination, std::max<std::size_t>(1, cfg_->delivery.max_connections)
            );
            if (jobs.empty())
                break;
            ++in_flight_;
            asio::co_spawn(io_, deliver_batch(std::move(jobs)), asio::detached);
        }
        auto next = scheduler_.next_wakeup();
        if (dsn_retry_at_ && (!next || dsn_retry_at_ < *next))
            next = dsn_retry_at_;
        if (unrecorded_retry_at_ && (!next || unrecorded_retry_at_ < *next))
            next = unrecorded_retry_at_;
        auto wait = next ? std::chrono::seconds(std::max<std::int64_t>(0, *next - now()))
                         : std::chrono::seconds(3600);
        wake_.expires_after(
            std::max<std::chrono::steady_clock::duration>(wait, std::chrono::milliseconds(0)) +
            std::chrono::milliseconds(next ? 1 : 0)
        );
        co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

asio::awaitable<void> runner::stop(std::chrono::steady_clock::duration grace) {
    stopping_ = true;
    poke();
    asio::steady_timer tick(io_);
    auto until = std::chrono::steady_clock::now() + grace;
    while (in_flight_ > 0 && std::chrono::steady_clock::now() < until) {
        tick.expires_after(std::chrono::milliseconds(50));
        co_await tick.async_wait(asio::use_awaitable);
    }
    if (in_flight_ > 0)
        log::warn("delivery_stop_timeout", {{"in_flight", in_flight_}});
}

asio::awaitable<void> runner::deliver_batch(std::vector<job> jobs) {
    const auto destination = jobs.front().destination;
    std::set<std::string> batch_messages;  // held by this batch until it ends (send_due_dsn)
    for (const auto& j : jobs)
        if (batch_messages.insert(j.id).second)
            ++batches_of_[j.id];
    // The config the batch started with stays alive until it ends, across a reload.
    const auto config = cfg_;
    const auto& cfg = *config;
    std::vector<std::pair<std::string, std::uint32_t>> mine;  // recipients this batch claimed
    std::set<std::pair<std::string, std::uint32_t>> decided;  // ... whose outcome was processed
    bool claimed = false;  // units were formed: mine says what this batch still holds
    auto lifetime =
        std::chrono::duration_cast<std::chrono::milliseconds>(cfg.delivery.max_lifetime);
    // Shaping: what waits goes back to the scheduler with the reason and the time it may go,
    // without counting as an attempt, but never past its lifetime: a job whose lifetime is over
    // is not put back but bounced here (4.4.7, with the reason it was held back).
    std::vector<job> overdue;
    std::string held_back;  // why the overdue jobs were not sent
    auto wait_with = [this, lifetime](job j, const shaping::wait& w) {
        auto t = now();
        auto until = std::chrono::duration_cast<std::chrono::seconds>(
                         w.until.time_since_epoch() + std::chrono::milliseconds(999)
        )
                         .count();
        auto end_of_life =
            j.arrived + std::chrono::duration_cast<std::chrono::seconds>(lifetime).count();
        j.next_attempt = std::max(t + 1, std::min(until, end_of_life));
        j.waiting = w.reason;
        scheduler_.add(std::move(j), t);
    };
    auto hold_back = [&](job j, const shaping::wait& w) {
        if (expired(j.arrived, now(), lifetime)) {
            held_back = w.reason;
            overdue.push_back(std::move(j));
        } else {
            wait_with(std::move(j), w);
        }
    };
    // The connection slot this batch holds against its throttle key's max_connections, from the
    // moment may_connect() said yes until the batch ends.
    std::optional<shaping::destination> holding;
    // Warming units taken for transactions not yet handed to delivery: given back when the batch
    // fails before it gets that far (what delivery was handed stays spent: it may have been seen).
    std::vector<shaping::counter_key> untried_units;
    try {
        // Where to: a static route, or the destination's MX.
        std::vector<delivery::target> targets;
        std::optional<std::pair<std::string, std::string>> route_failure;  // status, text
        bool route_permanent = false;
        if (const auto* r = route_for(cfg, destination)) {
            boost::system::error_code ec;
            auto host = r->next_hop.host;
            if (host.size() > 1 && host.front() == '[')
                host = host.substr(1, host.size() - 2);
            auto ip = asio::ip::make_address(host, ec);
            if (!ec) {
                targets.push_back({host, {ip, r->next_hop.port}});
            } else {
                auto a = co_await resolver_.address(host);
                for (const auto& addr : a.records)
                    targets.push_back({host, {addr, r->next_hop.port}});
                if (targets.empty())
                    route_failure = {
                        {"4.4.3", fmt::format("next hop {} has no address", r->next_hop.text())}};
            }
        } else {
            auto resolved =
                co_await dns::resolve_destination(resolver_, destination, dns::make_random_index());
            if (resolved.result == dns::outcome::ok) {
                targets = delivery::to_targets(resolved, cfg.delivery.port);
            } else {
                route_permanent = resolved.result == dns::outcome::permanent;
                route_failure = {{resolved.enhanced, resolved.text}};
            }
        }

        // The provider label of the metrics: by MX when the destination resolved.
        std::string provider_label;

        // Shaping: the provider and throttle key of the destination, by its MX host names. A
        // destination that may not take a connection now waits, files unread.
        std::optional<shaping::destination> shaped;
        if (!route_failure) {
            std::vector<std::string> hosts;
            for (const auto& t : targets)
                if (std::find(hosts.begin(), hosts.end(), t.host) == hosts.end())
                    hosts.push_back(t.host);
            shaped = shaper_.classify(destination, hosts);
            provider_label = shaped->provider;
            if (auto w = shaper_.may_connect(
                    *shaped, std::chrono::system_clock::now(), std::chrono::steady_clock::now()
                )) {
                log::debug(
                    "delivery_waiting",
                    {{"destination", destination}, {"jobs", jobs.size()}, {"reason", w->reason}}
                );
                for (auto& j : jobs)
                    hold_back(std::move(j), *w);
                jobs.clear();
            } else {
                shaper_.opened(*shaped);
                holding = shaped;
                // A rate-limited destination: read only the messages that may go now (each job
                // is one transaction or more); the others wait for their tokens, files unread.
                auto a = shaper_.rate_allowance(
                    *shaped, std::chrono::system_clock::now(), std::chrono::steady_clock::now()
                );
                auto keep = a ? std::max<std::size_t>(a->count, 1) : jobs.size();
                for (auto k = keep; k < jobs.size(); ++k)
                    hold_back(std::move(jobs[k]), a->rest);
                jobs.resize(std::min(keep, jobs.size()));
            }
        }

        if (provider_label.empty())
            provider_label = shaper_.classify(destination, {}).provider;
        // Jobs whose lifetime ran out while shaping held them back are read with the rest and
        // bounced below, never sent.
        std::set<std::uint64_t> overdue_serials;
        for (auto& j : overdue) {
            overdue_serials.insert(j.serial);
            jobs.push_back(std::move(j));
        }
        overdue.clear();

        // The messages, read off the event loop. A file that vanished was deleted meanwhile.
        struct loaded {
            job j;
            std::string file;
            spool::record rec;
            mutable std::optional<std::string> message_id;  // parsed when first needed
        };

        auto where = where_;
        std::vector<job> wanted = jobs;
        auto items = co_await util::offload(workers_, [&where, &wanted] {
            std::vector<loaded> out;
            for (const auto& j : wanted) {
                auto text = spool::read_file(where.message(j.id));
                if (!text)
                    continue;
                auto rec = spool::parse(*text);
                if (!rec)
                    continue;
                out.push_back({j, std::move(*text), std::move(*rec), std::nullopt});
            }
            return out;
        });
        // The Message-ID a suppression entry and a VERP record name the message by: read from
        // the header once per message, however many recipients (VERP units) need it.
        auto message_id_of = [](const loaded& it) -> const std::string& {
            if (!it.message_id)
                it.message_id = message::message_id_of(
                    std::string_view(it.file).substr(it.rec.message_offset, it.rec.size)
                );
            return *it.message_id;
        };

        // Delivery units: one SMTP transaction each. Normally all of a message's recipients at
        // this destination; with VERP one per recipient, since each has its own return path.
        // Recipients on the suppression list are not sent at all.
        struct unit {
            std::size_t item = 0;
            std::vector<std::size_t> positions;  // into items[item].j.rcpts
            std::string suppressed;              // non-empty: dropped, and why
        };

        std::vector<unit> units;
        std::vector<unit> dropped;
        std::vector<unit> expired_units;  // held back by shaping until their lifetime ended
        for (std::size_t k = 0; k < items.size(); ++k) {
            auto& it = items[k];
            bool verp = feedback_ && feedback_->verp() && !it.rec.env.reverse_path.empty();
            unit together{k, {}, {}};
            // The file is the authority: a recipient with a result is never sent again, and one
            // already in another batch (a duplicate job) is left to that batch. A held message
            // waits for release.
            std::set<std::size_t> final_here;
            for (const auto& r : it.rec.results)
                final_here.insert(r.index);
            bool late = overdue_serials.count(it.j.serial) != 0;
            for (std::size_t n = 0; n < it.j.rcpts.size(); ++n) {
                auto index = it.j.rcpts[n];
                if (held_.count(it.j.id) || final_here.count(index) ||
                    unrecorded_rcpts_.count({it.j.id, index}) ||
                    !claimed_.insert({it.j.id, index}).second)
                    continue;
                mine.emplace_back(it.j.id, index);
                const auto& address = it.rec.env.recipients[index].address;
                if (auto why = feedback_ ? feedback_->suppressed(address) : std::nullopt)
                    dropped.push_back({k, {n}, *why});
                else if (late)
                    expired_units.push_back({k, {n}, {}});
                else if (verp)
                    units.push_back({k, {n}, {}});
                else
                    together.positions.push_back(n);
            }
            if (!together.positions.empty())
                units.push_back(std::move(together));
        }

        std::optional<std::size_t> sending_from;  // the source IP of the connection in use

        // What one unit's outcome means: results made durable in the spool file first, then
        // logged, rescheduled, bounced with a DSN, fed to the suppression list, and the file
        // removed once every recipient is final.
        auto process = [&](const unit& u,
                           const delivery::delivery_result* r) -> asio::awaitable<void> {
            auto& it = items[u.item];
            auto t = now();
            std::vector<outcome_line> lines;
            // The server's reply per line, when there was one, and the command it answered.
            std::vector<const smtp::reply*> replies;
            std::vector<bounce::reply_phase> phases;
            for (std::size_t p = 0; p < u.positions.size(); ++p) {
                auto index = it.j.rcpts[u.positions[p]];
                outcome_line o{index, outcome_line::kind::deferred, {}, {}};
                const smtp::reply* reply = nullptr;
                if (!u.suppressed.empty()) {
                    o.what = outcome_line::kind::bounced;
                    o.status = "5.1.1";
                    o.reply = fmt::format("not sent: {}", u.suppressed);
                } else if (route_failure) {
                    o.reply =
                        fmt::format("{} {}", route_permanent ? 550 : 451, route_failure->second);
                    o.status = route_failure->first;
                    o.what = route_permanent ? outcome_line::kind::bounced
                                             : outcome_line::kind::deferred;
                } else if (r && p < r->recipients.size()) {
                    const auto& rr = r->recipients[p];
                    reply = &rr.response;
                    o.reply = util::trim(rr.response.summary()).empty() ? std::string("no reply")
                                                                        : rr.response.summary();
                    o.status = status_of(rr.response, rr.outcome == smtp::rcpt_outcome::permanent);
                    o.what = rr.outcome == smtp::rcpt_outcome::delivered
                                 ? outcome_line::kind::delivered
                             : rr.outcome == smtp::rcpt_outcome::permanent
                                 ? outcome_line::kind::bounced
                                 : outcome_line::kind::deferred;
                } else if (!held_back.empty()) {
                    o.reply = fmt::format("451 4.4.5 held back: {}", held_back);
                    o.status = "4.4.5";
                } else {
                    o.reply = "451 4.3.0 no result";
                    o.status = "4.3.0";
                }
                if (o.what == outcome_line::kind::deferred &&
                    expired(it.rec.arrived, t, lifetime)) {
                    o.what = outcome_line::kind::bounced;
                    o.status = "4.4.7";
                    o.reply = fmt::format(
                        "message expired after {}: {}", util::format_duration(lifetime), o.reply
                    );
                    reply = nullptr;  // an expiry says nothing about the address
                }
                decided.insert({it.j.id, index});
                lines.push_back(std::move(o));
                replies.push_back(reply);
                auto stage = reply && r && p < r->recipients.size() ? r->recipients[p].stage
                                                                    : smtp::client_stage::none;
                phases.push_back(
                    stage == smtp::client_stage::rcpt ? bounce::reply_phase::rcpt
                    : (stage == smtp::client_stage::data || stage == smtp::client_stage::data_end)
                        ? bounce::reply_phase::data
                        : bounce::reply_phase::other
                );
            }

            // The receiver's answers tell the throttle to slow down, and the warming health
            // gates what became of mail from this source IP.
            if (r && shaped) {
                auto steady = std::chrono::steady_clock::now();
                // A slow-down backs off the source IP that heard it, not its warm neighbours.
                auto source = sending_from && *sending_from < cfg.source_ips.size()
                                  ? cfg.source_ips[*sending_from].address.to_string()
                                  : std::string();
                auto slow_down = [&](const smtp::reply& reply) {
                    // Only the receiver's own words can ask us to slow down.
                    if (reply.local)
                        return;
                    if (auto change = shaper_.on_reply(
                            *shaped, reply, steady, std::chrono::system_clock::now(), source
                        )) {
                        util::metrics().backoffs_started.add(
                            std::string_view(change->key).substr(0, change->key.find(':'))
                        );
                        log::warn(
                            "throttle_backoff",
                            {{"key", change->key},
                             {"destination", destination},
                             {"reply", reply.summary()},
                             {"why", change->rule ? change->rule->why : std::string()},
                             {"suspended_s", change->change.suspension.count()},
                             {"rate_fraction", fmt::format("{:.2f}", change->change.fraction)},
                             {"repeats", change->change.repeats}}
                        );
                    }
                };
                // Every reply a server gave, at any stage, once per transaction: ten recipients
                // refused with the same 421 are one request to slow down, not ten.
                std::set<std::string> seen;
                if (r->refusal && seen.insert(r->refusal->summary()).second)
                    slow_down(*r->refusal);
                for (const auto& rr : r->recipients)
                    if (rr.stage != smtp::client_stage::none &&
                        seen.insert(rr.response.summary()).second)
                        slow_down(rr.response);
                // Only mail a receiver saw counts for the health gates, as for the warming cap.
                if (sending_from && *sending_from < cfg.source_ips.size() && !r->host.empty()) {
                    shaping::daily_counts delta;
                    for (const auto& o : lines) {
                        delta.deferred += o.what == outcome_line::kind::deferred;
                        delta.bounced += o.what == outcome_line::kind::bounced;
                    }
                    if (delta.deferred || delta.bounced)
                        shaper_.record(
                            cfg.source_ips[*sending_from].address.to_string(), shaped->provider,
                            std::chrono::system_clock::now(), delta
                        );
                }
            }

            std::string host = r ? r->host : std::string();
            // Bounced recipients get a DSN to the sender (when they want one), one per message:
            // it is composed once no recipient of the message is in flight (send_due_dsn), after
            // the bounces are durable below. A suppressed recipient is dropped silently, as the
            // operator configured.
            std::vector<dsn_recipient> bounced;
            if (u.suppressed.empty())
                for (const auto& o : lines)
                    if (o.what == outcome_line::kind::bounced)
                        bounced.push_back({o.index, o.status, o.reply, host, t});

            // Deferred recipients come back after the retry schedule's next delay; the schedule
            // goes into the spool file with the results, so a restart keeps it.
            auto attempt = it.j.attempts + 1;
            std::uniform_real_distribution<double> jitter(0.0, 1.0);
            auto retry_at = t + retry_delay(cfg.delivery.retry, attempt, jitter(random_)).count();
            std::string retries;
            for (const auto& o : lines)
                if (o.what == outcome_line::kind::deferred)
                    retries += spool::format_retry({o.index, attempt, retry_at, o.reply});

            // Durable first: the results go into the spool file before anything acts on them.
            std::string appended;
            for (const auto& o : lines)
                if (o.what != outcome_line::kind::deferred)
                    appended += spool::format_result(
                        {o.index,
                         o.what == outcome_line::kind::delivered
                             ? spool::recipient_result::kind::delivered
                             : spool::recipient_result::kind::bounced,
                         t, o.reply}
                    );
            auto path = where_.message(it.j.id);
            // Whether every recipient now has a result. The file decides: another job of this
            // message (another domain, another unit) may have appended its results meanwhile.
            // Each reads the results back after its own append, so the last one sees them all.
            bool complete = false;
            if (!appended.empty()) {
                // Through the spool writer, so concurrent transactions share one sync.
                auto [ec] = co_await writer_.async_append(
                    it.j.id, appended + retries, asio::as_tuple(asio::use_awaitable)
                );
                if (ec) {
                    // The receiver has answered: sending again would be a duplicate. The results
                    // wait in memory until the spool has room (retry_unrecorded), and their
                    // recipients are not scheduled meanwhile; a crash before then sends them
                    // again, as for any delivery in flight.
                    log::error(
                        "spool_append_failed", {{"queue_id", it.j.id}, {"error", ec.message()}}
                    );
                    auto& pending = unrecorded_[it.j.id];
                    pending.text += appended;
                    pending.bounced.insert(pending.bounced.end(), bounced.begin(), bounced.end());
                    for (const auto& o : lines)
                        if (o.what != outcome_line::kind::deferred)
                            unrecorded_rcpts_.insert({it.j.id, o.index});
                    if (!unrecorded_retry_at_)
                        unrecorded_retry_at_ = t + 5;
                } else {
                    if (!bounced.empty()) {
                        auto& due = dsn_due_[it.j.id];
                        due.insert(due.end(), bounced.begin(), bounced.end());
                        dsn_first_due_.try_emplace(it.j.id, t);
                    }
                    auto offset = it.rec.message_offset + it.rec.size;
                    auto count = it.rec.env.recipients.size();
                    complete = co_await util::offload(workers_, [&path, offset, count] {
                        return all_final_on_disk(path, offset, count);
                    });
                }
            } else if (!retries.empty()) {
                // Only deferrals: the schedule in memory holds either way; a lost line means an
                // early retry after a restart, never a lost message.
                auto [ec] = co_await writer_.async_append(
                    it.j.id, std::move(retries), asio::as_tuple(asio::use_awaitable)
                );
                if (ec)
                    log::warn(
                        "retry_state_not_saved", {{"queue_id", it.j.id}, {"error", ec.message()}}
                    );
            }

            auto delay_s = t - it.rec.arrived;
            for (std::size_t p = 0; p < lines.size(); ++p) {
                const auto& o = lines[p];
                const auto& address = it.rec.env.recipients[o.index].address;
                const char* what = !u.suppressed.empty()                     ? "suppressed"
                                   : o.what == outcome_line::kind::delivered ? "sent"
                                   : o.what == outcome_line::kind::bounced   ? "bounced"
                                                                             : "deferred";
                log::info(
                    "delivery", {{"queue_id", it.j.id},
                                 {"rcpt", address},
                                 {"status", what},
                                 {"dsn", o.status},
                                 {"mx", host},
                                 {"address", r ? r->address : std::string()},
                                 {"tls", r ? r->tls : std::string()},
                                 {"reply", o.reply},
                                 {"attempt", attempt},
                                 {"delay", delay_s}}
                );
                auto& counted =
                    o.what == outcome_line::kind::delivered ? util::metrics().rcpt_delivered
                    : o.what == outcome_line::kind::bounced ? util::metrics().rcpt_bounced
                                                            : util::metrics().rcpt_deferred;
                counted.add();
                util::metrics().by_provider.add(
                    provider_label, o.what == outcome_line::kind::delivered
                                        ? util::provider_outcomes::outcome::delivered
                                    : o.what == outcome_line::kind::bounced
                                        ? util::provider_outcomes::outcome::bounced
                                        : util::provider_outcomes::outcome::deferred
                );
                if (o.what == outcome_line::kind::delivered && u.suppressed.empty())
                    util::metrics().delivery_delay_seconds.observe(
                        std::chrono::duration<double>(
                            std::chrono::system_clock::now().time_since_epoch()
                        )
                            .count() -
                        static_cast<double>(it.rec.arrived)
                    );
                if (!feedback_ || !u.suppressed.empty())
                    continue;
                if (o.what == outcome_line::kind::delivered)
                    feedback_->on_delivered(address);
                else if (o.what == outcome_line::kind::bounced && replies[p])
                    feedback_->on_reply(
                        address, *replies[p], phases[p], it.j.id, message_id_of(it), t
                    );
                else if (o.what == outcome_line::kind::bounced && route_failure && route_permanent)
                    feedback_->on_reply(
                        address, smtp::reply{550, o.status, route_failure->second},
                        bounce::reply_phase::other, it.j.id, message_id_of(it), t
                    );
            }

            // Deferred recipients come back later.
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
                scheduler_.add(std::move(again), t);
            }

            // With a DSN still to send, send_due_dsn() removes the file after it.
            if (complete && !dsn_due_.count(it.j.id) && !dsn_sending_.count(it.j.id)) {
                std::error_code ec;
                if (std::filesystem::remove(path, ec))
                    log::info("message_done", {{"queue_id", it.j.id}});
            }
        };

        claimed = true;
        for (const auto& u : dropped)
            co_await process(u, nullptr);
        for (const auto& u : expired_units)
            co_await process(u, nullptr);
        held_back.clear();

        if (route_failure || units.empty()) {
            for (const auto& u : units)
                co_await process(u, nullptr);
        } else {
            // A unit that may not go now: its recipients wait, no longer claimed by this batch.
            auto put_back = [&](const unit& u, const shaping::wait& w) {
                job again = items[u.item].j;
                again.rcpts.clear();
                for (auto p : u.positions) {
                    auto index = items[u.item].j.rcpts[p];
                    again.rcpts.push_back(index);
                    std::pair<std::string, std::uint32_t> claim{again.id, index};
                    claimed_.erase(claim);
                    std::erase(mine, claim);
                }
                wait_with(std::move(again), w);
            };
            auto admitted = shaper_.admit(
                *shaped, units.size(), std::chrono::system_clock::now(),
                std::chrono::steady_clock::now()
            );
            for (const auto& g : admitted.groups)
                if (g.unit)
                    untried_units.insert(untried_units.end(), g.transactions.size(), *g.unit);
            auto tried = [&](const shaping::admission::group& g) {
                for (std::size_t n = 0; g.unit && n < g.transactions.size(); ++n)
                    if (auto it = std::find(untried_units.begin(), untried_units.end(), *g.unit);
                        it != untried_units.end())
                        untried_units.erase(it);
            };
            // A warming unit pays for mail a receiver saw, not for a connection that failed.
            auto give_back = [&](const shaping::admission::group& g) {
                if (g.unit && !shaper_.give_back(*g.unit))
                    log::warn(
                        "warming_give_back_failed",
                        {{"ip", g.unit->ip}, {"provider", g.unit->provider}}
                    );
            };
            for (const auto& notice : admitted.notices)
                log::warn("warming_gate", {{"destination", destination}, {"gate", notice}});
            // What waits goes back now, unless its lifetime is over.
            for (auto w : admitted.waiting) {
                const auto& u = units[w];
                if (expired(items[u.item].rec.arrived, now(), lifetime)) {
                    // Its lifetime is over: bounced now (4.4.7), not put back.
                    held_back = admitted.why->reason;
                    co_await process(u, nullptr);
                    held_back.clear();
                    continue;
                }
                put_back(u, *admitted.why);
            }
            if (!admitted.waiting.empty())
                log::debug(
                    "delivery_waiting", {{"destination", destination},
                                         {"transactions", admitted.waiting.size()},
                                         {"reason", admitted.why->reason}}
                );

            delivery::options opts;
            opts.tls = tls_for(cfg, destination);
            opts.max_messages_per_connection = shaped->configured.max_messages_per_connection
                                                   ? shaped->configured.max_messages_per_connection
                                                   : cfg.delivery.max_messages_per_connection;
            opts.limits.connect =
                std::chrono::duration_cast<std::chrono::milliseconds>(cfg.delivery.connect_timeout);
            auto command =
                std::chrono::duration_cast<std::chrono::milliseconds>(cfg.delivery.command_timeout);
            opts.limits.greeting = opts.limits.command = command;
            auto in_ms = [](config::duration d) {
                return std::chrono::duration_cast<std::chrono::milliseconds>(d);
            };
            opts.limits.tls_handshake = in_ms(cfg.delivery.tls_handshake_timeout);
            opts.limits.data_start = in_ms(cfg.delivery.data_start_timeout);
            opts.limits.data_block = in_ms(cfg.delivery.data_write_timeout);
            opts.limits.data_end = in_ms(cfg.delivery.data_end_timeout);

            // One connection per source IP the shaper chose, one after the other.
            for (const auto& group : admitted.groups) {
                opts.source.reset();
                opts.ehlo_name = cfg.server.hostname;
                // By address in this batch's config: a reload may have reordered the pool.
                const config::source_ip* ip = nullptr;
                for (const auto& candidate : cfg.source_ips)
                    if (group.source && candidate.address.to_string() == group.address)
                        ip = &candidate;
                if (group.source && !ip) {
                    // The IP left the config since this batch started: try again shortly.
                    tried(group);
                    for (auto c : group.transactions) {
                        give_back(group);
                        put_back(
                            units[c], {std::chrono::system_clock::now() + std::chrono::seconds(1),
                                       fmt::format("source IP {} left the config", group.address)}
                        );
                    }
                    continue;
                }
                sending_from.reset();
                if (ip) {
                    sending_from = static_cast<std::size_t>(ip - cfg.source_ips.data());
                    opts.source = ip->address;
                    if (!ip->ehlo.empty())
                        opts.ehlo_name = ip->ehlo;
                }
                const auto& chosen = group.transactions;
                std::string source_text = opts.source ? opts.source->to_string() : std::string();
                std::vector<bool> handled(chosen.size(), false);
                auto turn_started = std::chrono::steady_clock::now();
                // Each transaction's results are made durable before the next one starts.
                opts.on_decided = [&](std::size_t k,
                                      const delivery::delivery_result& r) -> asio::awaitable<void> {
                    auto turn_ended = std::chrono::steady_clock::now();
                    util::metrics().transaction_seconds.observe(
                        std::chrono::duration<double>(turn_ended - turn_started).count()
                    );
                    handled[k] = true;
                    co_await process(units[chosen[k]], &r);
                    turn_started = std::chrono::steady_clock::now();  // durable: the next turn
                };
                std::vector<delivery::message> messages;
                std::vector<suppression::sent_entry> sent;
                auto t = now();
                for (auto c : chosen) {
                    const auto& u = units[c];
                    const auto& it = items[u.item];
                    delivery::message m;
                    m.mail_from = it.rec.env.reverse_path;
                    if (feedback_ && feedback_->verp() && u.positions.size() == 1 &&
                        !m.mail_from.empty()) {
                        auto index = it.j.rcpts[u.positions[0]];
                        m.mail_from = feedback_->return_path(m.mail_from, it.j.id, index);
                        sent.push_back(
                            {it.j.id, index, it.rec.env.recipients[index].address, t, source_text,
                             shaped->provider, message_id_of(it)}
                        );
                    }
                    for (auto p : u.positions)
                        m.recipients.push_back(it.rec.env.recipients[it.j.rcpts[p]]);
                    m.body = it.rec.env.body;
                    m.smtputf8 = it.rec.env.smtputf8;
                    m.ret = it.rec.env.ret;
                    m.envid = it.rec.env.envid;
                    m.content.push_back(
                        asio::buffer(it.file.data() + it.rec.message_offset, it.rec.size)
                    );
                    messages.push_back(std::move(m));
                }
                if (feedback_)
                    feedback_->remember_sent(sent);
                tried(group);
                auto results = co_await delivery::deliver(
                    io_.get_executor(), targets, opts, std::move(messages)
                );
                for (std::size_t k = 0; k < chosen.size(); ++k)
                    if (!handled[k])
                        co_await process(
                            units[chosen[k]], k < results.size() ? &results[k] : nullptr
                        );
                for (const auto& r : results)
                    if (r.host.empty())
                        give_back(group);
            }
        }
    } catch (const std::exception& e) {
        log::error("delivery_failed", {{"destination", destination}, {"error", e.what()}});
        for (const auto& unit : untried_units)
            if (!shaper_.give_back(unit))
                log::warn(
                    "warming_give_back_failed", {{"ip", unit.ip}, {"provider", unit.provider}}
                );
        // Put back what this batch still holds, so nothing is forgotten until restart: before
        // the units were formed, every job; after, only the recipients it claimed and did not
        // decide (the others were put back, or are final, already).
        auto t = now();
        for (auto& j : overdue)
            jobs.push_back(std::move(j));
        std::set<std::pair<std::string, std::uint32_t>> held(mine.begin(), mine.end());
        for (auto& j : jobs) {
            if (claimed)
                std::erase_if(j.rcpts, [&](std::uint32_t index) {
                    std::pair<std::string, std::uint32_t> c{j.id, index};
                    return !held.count(c) || decided.count(c);
                });
            if (j.rcpts.empty())
                continue;
            j.attempts += 1;
            j.next_attempt = t + 60;
            j.last_reply = e.what();
            j.waiting.clear();
            scheduler_.add(std::move(j), t);
        }
    }
    if (holding)
        shaper_.closed(*holding);
    for (const auto& c : mine)
        claimed_.erase(c);
    for (const auto& id : batch_messages)
        if (--batches_of_[id] == 0)
            batches_of_.erase(id);
    // The last batch of a message to finish sends its DSN, for every bounce of this event.
    for (const auto& id : batch_messages)
        if (dsn_due_.count(id))
            co_await send_due_dsn(id);
    scheduler_.finished(destination);
    --in_flight_;
    poke();
}

}  // namespace outpost::queue
