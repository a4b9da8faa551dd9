#include "core/queue/runner.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>
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
#include "core/queue/delivery_batch.hpp"
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
      wake_(io),
      connections_(std::make_shared<delivery::connection_cache>(io.get_executor())) {}

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

void runner::adopt_backoff(const shaping::backoff_record& r) {
    if (!shaper_.adopt(r, std::chrono::system_clock::now(), std::chrono::steady_clock::now()))
        return;
    log::warn(
        "throttle_backoff_adopted",
        {{"key", r.key},
         {"until",
          util::iso8601(
              std::chrono::duration_cast<std::chrono::seconds>(r.until.time_since_epoch()).count()
          )},
         {"rate_fraction", fmt::format("{:.2f}", r.fraction)},
         {"reply", r.last_slowdown}}
    );
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

void runner::reschedule(job j, std::int64_t now) {
    auto at = j.next_attempt;
    scheduler_.add(std::move(j), now);
    if (!wake_at_ || at < *wake_at_)
        poke();
}

namespace {

// Spool files are read for recovery a batch at a time, and each batch is scheduled (and can be
// delivered) as soon as it is read: a large queue starts moving at once, and only one batch's
// file contents are in memory at a time. Batches start small, for a quick first delivery, and
// grow, so that a million messages are not as many round trips to a worker.
constexpr std::size_t first_recovery_batch = 128;
constexpr std::size_t largest_recovery_batch = 1024;

// What recovery learns from some spool files (read on a worker thread).
struct recovered_files {
    std::vector<job> jobs;
    std::map<std::string, std::vector<dsn_recipient>> due;  // bounced, no DSN yet
};

recovered_files read_for_recovery(const spool::layout& where, std::span<const std::string> ids) {
    recovered_files out;
    for (const auto& id : ids) {
        auto text = spool::read_file(where.message(id));
        std::string error = text ? "" : "cannot be read";
        auto rec = text ? spool::parse(*text, &error) : std::nullopt;
        if (!rec) {
            log::error("spool_unreadable", {{"queue_id", id}, {"error", error}});
            continue;
        }
        auto pending = jobs_for(*rec);
        if (auto bounces = unreported_bounces(*rec); !bounces.empty()) {
            out.due[id] = std::move(bounces);  // the DSN comes first, then the removal
        } else if (pending.empty()) {
            // Every recipient was final, but the crash came before the removal.
            std::error_code ec;
            std::filesystem::remove(where.message(id), ec);
            log::info("message_done", {{"queue_id", id}, {"at", "recovery"}});
        }
        for (auto& j : pending)
            out.jobs.push_back(std::move(j));
    }
    return out;
}

}  // namespace

void runner::start() {
    // Delivery starts at once, beside recovery: what recovery schedules is delivered as it comes.
    asio::co_spawn(io_, recover(), asio::detached);
    asio::co_spawn(io_, loop(), asio::detached);
}

asio::awaitable<void> runner::recover() {
    try {
        co_await recover_spool();
    } catch (const std::exception& e) {
        // Mail spooled from now on is still delivered; what was queued waits for a restart.
        log::error("queue_recovery_failed", {{"error", e.what()}});
    }
    started_ = true;
    early_.clear();
    recovering_ = {};
    recovery_next_ = 0;
    scanned_ = false;
    recovery_skip_.clear();
#ifdef __GLIBC__
    // Reading every spool file left its buffers free in the worker thread's malloc arena: return
    // them, or a restarted daemon holds that memory for good.
    ::malloc_trim(0);
#endif
}

asio::awaitable<void> runner::recover_spool() {
    // Every message in queue/ with recipients still pending is scheduled again.
    auto where = where_;
    std::set<std::string> markers;
    recovering_ = co_await util::offload(workers_, [&where, &markers] {
        return spool::list_queue(where, &markers);
    });
    scanned_ = true;
    const auto& ids = recovering_;
    std::size_t recovered = 0, dsns_due = 0;
    // Held messages are known (and can be released) at once: they need no reading.
    if (!markers.empty())
        for (const auto& id : ids)
            if (markers.count(id) && !recovery_skip_.count(id))
                held_.insert(id);
    // Not scheduled by recovery: spooled since the start (submitted() scheduled them; one may
    // even be done), held, or held or deleted by the operator before recovery reached them.
    auto skip = [this, &markers](const std::string& id) {
        return early_.count(id) || markers.count(id) || recovery_skip_.count(id);
    };
    std::vector<std::string> batch;
    auto batch_size = first_recovery_batch;
    for (std::size_t next = 0; next < ids.size() && !stopping_;
         batch_size = std::min(2 * batch_size, largest_recovery_batch)) {
        batch.clear();
        for (; next < ids.size() && batch.size() < batch_size; ++next)
            if (!skip(ids[next]))
                batch.push_back(ids[next]);
        // The batch is recovery's from here: the operator's hold and delete see its messages
        // again once they are scheduled (recovery may remove one that is complete meanwhile).
        recovery_next_ = next;
        auto files = co_await util::offload(workers_, [&where, &batch] {
            return read_for_recovery(where, batch);
        });
        // Spooled, held or deleted while the batch was read.
        std::erase_if(files.due, [&skip](const auto& d) { return skip(d.first); });
        std::erase_if(files.jobs, [&skip](const job& j) { return skip(j.id); });
        auto t = now();
        // Old bounces are due before any job of theirs can run: a batch that finds its message
        // complete leaves it in place while a DSN is due (and sends the DSN itself).
        for (const auto& [id, bounces] : files.due)
            make_due(id, bounces, t);
        dsns_due += files.due.size();
        // Copied, not moved: the copies are made here, in this thread's malloc arena, so that
        // the worker's arena (file buffers and parsed records interleaved with the jobs it built)
        // is free once `files` goes, but for the few shared last replies, and malloc_trim returns
        // it. Moving kept each job's strings scattered through it: 20% more RAM per queued
        // message after a restart (scripts/bench --queue-scale).
        for (const auto& j : files.jobs)
            scheduler_.add(job(j), t);
        recovered += files.jobs.size();
        files.jobs = {};
        poke();
        for (const auto& entry : files.due) {
            if (stopping_)
                break;  // still due in the spool: sent after the next start
            std::string id = entry.first;
            co_await send_due_dsn(id);
        }
    }
    log::info(
        "queue_recovered", {{"jobs", recovered}, {"held", held_.size()}, {"dsns_due", dsns_due}}
    );
}

void runner::submitted(
    const std::string& id, const smtp::envelope& env, std::int64_t arrived, std::string file
) {
    if (!started_)
        early_.insert(id);
    if (!file.empty())
        fresh_.put(id, std::move(file));
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
    if (!was_held && scheduler_.remove(id) == 0) {
        if (!awaiting_recovery(id))
            return false;
        recovery_skip_.insert(id);
    }
    fresh_.forget(id);  // memory only: no job of it is left to read the copy
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
    if (scheduler_.remove(id) == 0) {
        // Unknown, or in flight (its results decide what happens next).
        if (!awaiting_recovery(id))
            return false;
        recovery_skip_.insert(id);
    }
    { std::ofstream marker(where_.hold_marker(id)); }
    held_.insert(id);
    log::info("message_held", {{"queue_id", id}});
    return true;
}

bool runner::awaiting_recovery(const std::string& id) const {
    if (started_ || early_.count(id) || held_.count(id) || recovery_skip_.count(id))
        return false;
    if (!scanned_) {  // queue/ is still being listed: whatever is there, recovery will find
        std::error_code ec;
        return std::filesystem::exists(where_.message(id), ec);
    }
    auto from = recovering_.begin() + static_cast<std::ptrdiff_t>(recovery_next_);
    return std::binary_search(from, recovering_.end(), id);
}

asio::awaitable<bool> runner::release(std::string id) {
    std::error_code ec;
    // Held by its marker, in a part of queue/ recovery has not read yet.
    if (!held_.count(id) &&
        (!awaiting_recovery(id) || !std::filesystem::exists(where_.hold_marker(id), ec)))
        co_return false;
    held_.erase(id);
    if (!started_)
        recovery_skip_.insert(id);  // scheduled here, whatever recovery finds later
    std::filesystem::remove(where_.hold_marker(id), ec);
    auto path = where_.message(id);
    auto rec = co_await util::offload(workers_, [&path] {
        auto text = spool::read_file(path);
        return text ? spool::parse(*text) : std::nullopt;
    });
    if (!rec)
        co_return false;
    auto t = now();
    // Bounces it had when it was held at a restart were never made due (recovery does not read
    // held messages): they are now. send_due_dsn drops any already reported.
    auto bounces = unreported_bounces(*rec);
    if (!bounces.empty())
        make_due(id, bounces, t);
    for (auto& j : jobs_for(*rec)) {
        j.next_attempt = 0;  // released: now, whatever its retry schedule said
        scheduler_.add(std::move(j), t);
    }
    log::info("message_released", {{"queue_id", id}});
    poke();
    if (!bounces.empty())
        co_await send_due_dsn(id);
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
        wake_at_ = next;
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
    connections_->close_all();
}

asio::awaitable<void> runner::deliver_batch(std::vector<job> jobs) {
    delivery_batch batch(*this, std::move(jobs));
    co_await batch.run();
}

}  // namespace outpost::queue
