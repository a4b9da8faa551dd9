// The delivery side of the daemon: keeps the scheduler fed from the spool, and for each batch it
// takes, resolves the destination (static route or MX), delivers with delivery::deliver(), and
// records each recipient's result in the spool file before acting on it (a delivered recipient
// is never sent again, even after a crash). Permanent failures and expiry produce DSNs, which
// are spooled and delivered like any message.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config/schema.hpp"
#include "core/delivery/connection_cache.hpp"
#include "core/dns/resolver.hpp"
#include "core/events/event.hpp"
#include "core/queue/dsn.hpp"
#include "core/queue/scheduler.hpp"
#include "core/shaping/shaper.hpp"
#include "core/smtp/envelope.hpp"
#include "core/spool/fresh.hpp"
#include "core/spool/layout.hpp"
#include "core/spool/record.hpp"
#include "core/spool/writer.hpp"
#include "core/suppression/bounce_state.hpp"
#include "core/tlspolicy/sts_source.hpp"

namespace outpost::queue {

class runner {
public:
    runner(
        boost::asio::io_context& io,
        std::shared_ptr<const config::config> cfg,
        spool::layout where,
        spool::writer& writer,
        boost::asio::thread_pool& workers,
        dns::resolver& resolver,
        shaping::counter_store* counters,  // warming counters; null: nothing to keep
        shaping::throttle_store* backoffs  // destination backoffs kept across restarts, or null
    );

    // A reloaded config: delivery settings, warming, providers and throttles apply to the next
    // batch; batches in flight finish under the config they started with.
    void reconfigure(std::shared_ptr<const config::config> cfg);

    // A bounce or complaint that came back by mail about something sent earlier: it counts
    // against the warming health of the IP it left from, on the day it came back.
    void returned(const suppression::sent_entry& sent, bool complaint, std::int64_t at);

    // Today's warming use per IP × provider (metrics).
    std::vector<shaping::warming_use> warming_usage();

    // Throttle keys, their limits, backoffs and connections in use (outpostctl throttle status).
    std::vector<shaping::key_status> throttle_status();

    // outpostctl throttle suspend KEY --for D / resume KEY. Mail waiting for the key is asked
    // again at once after a resume.
    void suspend_key(const std::string& key, std::chrono::seconds length);
    void resume_key(const std::string& key);

    // Starts delivering, and reads queue/ (off the event loop) to schedule what it holds.
    void start();

    // A message the listener has just spooled; file, when given, is its spool file's text, kept
    // for the first delivery (spool::fresh_files).
    void submitted(
        const std::string& id,
        const smtp::envelope& env,
        std::int64_t arrived,
        std::string file = {}
    );

    // Deliveries in flight finish (or are cut off after grace); nothing new starts.
    boost::asio::awaitable<void> stop(std::chrono::steady_clock::duration grace);

    std::size_t flush(
        const std::optional<std::string>& destination, const std::optional<std::string>& id
    );
    // Removes a queued message (its jobs and its file); false when unknown or in flight.
    bool remove(const std::string& id);

    // Hold: the message is not delivered until released, across restarts (a marker file next to
    // it). False when it is unknown or being delivered right now.
    bool hold(const std::string& id);
    // Release: its pending recipients are scheduled at once. False when it was not held.
    boost::asio::awaitable<bool> release(std::string id);

    const std::set<std::string>& held() const { return held_; }

    scheduler_stats stats() const { return scheduler_.stats(); }

    // Bounce handling: suppression at delivery time, VERP return paths, classification of
    // permanent replies. Optional; must outlive the runner.
    void set_feedback(class feedback* f) { feedback_ = f; }

    // Each recipient's outcome (delivered, deferred, bounced, expired, suppressed) as an event.
    void set_events(events::sink s) { events_ = std::move(s); }

    // [cluster]: rates counted and backoffs shared across nodes; null (the default): this node
    // alone.
    void set_shared_shaping(class shared_shaping* s) { shared_shaping_ = s; }

    // A backoff another node started: taken when it ends later than this node's own.
    void adopt_backoff(const shaping::backoff_record& r);

    // MTA-STS: the policy source for recipient domains reached by MX, and the context that checks
    // MX certificates under an enforced policy. Optional; must outlive the runner.
    void set_mta_sts(
        tlspolicy::sts_source* source, std::shared_ptr<boost::asio::ssl::context> verifying
    ) {
        sts_ = source;
        verifying_tls_ = std::move(verifying);
    }

    // Every queued (not in flight) job, for the admin endpoint; valid until the next event.
    std::vector<const job*> queued() const { return scheduler_.queued(); }

private:
    friend class delivery_batch;  // a batch's stages act on the runner's state (delivery_batch.hpp)

    boost::asio::awaitable<void> loop();
    // Reads queue/ a batch of files at a time (off the event loop) and schedules what is pending
    // (recover_spool); a failure is logged, and delivery of new mail goes on.
    boost::asio::awaitable<void> recover();
    boost::asio::awaitable<void> recover_spool();
    // One destination's jobs through resolve, admit, read, transact, record and react.
    boost::asio::awaitable<void> deliver_batch(std::vector<job> jobs);
    void poke();
    // A job a batch hands back (a deferral, a shaping wait): scheduled, and the loop woken when
    // it falls due before the loop's next wake-up, so a retry due while the batch goes on is
    // taken on time rather than when the batch ends.
    void reschedule(job j, std::int64_t now);
    std::int64_t now() const;

    // DSNs, one per message per event (RFC 3464 reports many recipients at once, and Postfix
    // sends one): a message's bounced recipients wait in dsn_due_ until no batch holds the
    // message and none of its other recipients is due for an attempt now (or for a minute at
    // most, so a recipient held back by shaping does not hold the report), then go out in one.
    // Their bounces are already durable in the spool file; the DSN is spooled next, then a "dsn"
    // line or the file's removal says it was: a crash in between gives a second DSN at restart,
    // never none.
    boost::asio::awaitable<void> send_due_dsn(std::string id);
    // Adds bounces to the message's DSN due (merged: send_due_dsn drops repeats and any already
    // reported), due since t unless already due.
    void make_due(const std::string& id, std::span<const dsn_recipient> bounces, std::int64_t t);
    // Retries DSNs whose spooling failed (a full disk), a minute later.
    boost::asio::awaitable<void> retry_due_dsns();
    bool in_flight(const std::string& id) const;
    // True when id is in queue/ and recovery has not scheduled it yet: hold, release and delete
    // act on its files, and recovery leaves it alone.
    bool awaiting_recovery(const std::string& id) const;
    // Results a full disk kept out of the spool file: written again every few seconds until they
    // fit; their recipients are not sent meanwhile.
    boost::asio::awaitable<void> retry_unrecorded();
    // Removes the spool file when every recipient has a result on disk and no DSN waits.
    boost::asio::awaitable<void> remove_if_done(std::string id);

    boost::asio::io_context& io_;
    std::shared_ptr<const config::config> cfg_;
    shaping::shaper shaper_;
    spool::layout where_;
    spool::writer& writer_;
    spool::fresh_files fresh_;  // just spooled, for the first delivery
    boost::asio::thread_pool& workers_;
    dns::resolver& resolver_;
    scheduler scheduler_;
    boost::asio::steady_timer wake_;
    std::optional<std::int64_t> wake_at_;  // when loop() looks again; nullopt: in an hour
    std::mt19937_64 random_{std::random_device{}()};
    std::size_t in_flight_ = 0;
    class feedback* feedback_ = nullptr;
    events::sink events_;
    class shared_shaping* shared_shaping_ = nullptr;
    tlspolicy::sts_source* sts_ = nullptr;
    std::shared_ptr<boost::asio::ssl::context> verifying_tls_;
    std::set<std::string> held_;
    // Delivery connections waiting idle for the next batch to the same server.
    std::shared_ptr<delivery::connection_cache> connections_;
    std::set<std::string> early_;  // spooled while recovery was scanning the spool
    // While recovery runs: queue/ as its scan found it (sorted), where the ids it has not
    // scheduled yet start, and those the operator held or deleted before it got to them.
    std::vector<std::string> recovering_;
    bool scanned_ = false;  // recovering_ is filled
    std::size_t recovery_next_ = 0;
    std::set<std::string> recovery_skip_;
    std::set<std::pair<std::string, std::uint32_t>> claimed_;    // (queue id, recipient) in flight
    std::map<std::string, std::vector<dsn_recipient>> dsn_due_;  // by queue id
    std::set<std::string> dsn_sending_;                          // send_due_dsn() at work
    std::map<std::string, std::int64_t> dsn_first_due_;  // when its oldest unsent bounce came
    std::map<std::string, unsigned> batches_of_;         // delivery batches holding a message

    struct unrecorded_results {
        std::string text;                    // result lines to append
        std::vector<dsn_recipient> bounced;  // their DSN, once written
    };

    std::map<std::string, unrecorded_results> unrecorded_;              // by queue id
    std::set<std::pair<std::string, std::uint32_t>> unrecorded_rcpts_;  // never sent again
    std::int64_t unrecorded_retry_at_ = 0;                              // 0: nothing to write
    std::int64_t dsn_retry_at_ = 0;                                     // 0: nothing to retry
    bool stopping_ = false;
    bool started_ = false;
};

}  // namespace outpost::queue
