// One delivery batch: a destination's jobs, taken from the scheduler together, on their way
// through the stages of a delivery, in this order:
//   resolve   static route or MX → the targets to connect to, or why there are none
//   admit     the destination's connection slot and rate: what may go now, what waits
//   read      the spool files, off the event loop
//   units     one SMTP transaction each; suppressed and expired recipients apart
//   transact  one connection per source IP the warming admission chose
//   record    each transaction's results made durable in the spool file first
//   react     throttle backoff, warming health, log, metrics, suppression feedback, retry, DSN
// runner::deliver_batch runs one from start to end. Internal to the runner (its friend).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "config/schema.hpp"
#include "core/delivery/delivery.hpp"
#include "core/queue/dsn.hpp"
#include "core/queue/outcome.hpp"
#include "core/queue/scheduler.hpp"
#include "core/shaping/shaper.hpp"
#include "core/spool/record.hpp"
#include "core/tlspolicy/dane.hpp"
#include "core/tlspolicy/sts_source.hpp"

namespace outpost::queue {

class runner;

class delivery_batch {
public:
    delivery_batch(runner& owner, std::vector<job> jobs);

    // All stages; whatever fails, what the batch holds goes back to the scheduler.
    boost::asio::awaitable<void> run();

private:
    // A message read from the spool.
    struct loaded {
        job j;
        std::string file;
        spool::record rec;
        mutable std::optional<std::string> message_id;  // parsed when first needed
        // Recipients this batch has made final in the file (its results durable).
        mutable std::set<std::size_t> made_final;
    };

    // One SMTP transaction: normally all of a message's recipients at this destination; with
    // VERP one per recipient, since each has its own return path.
    struct unit {
        std::size_t item = 0;
        std::vector<std::size_t> positions;  // into items_[item].j.rcpts
        std::string suppressed;              // non-empty: dropped, and why
    };

    using claim = std::pair<std::string, std::uint32_t>;  // (queue id, recipient index)

    // The stages.
    boost::asio::awaitable<void> resolve();
    // The recipient domain's MTA-STS policy: under enforce only MX hosts it lists remain, each
    // to be reached with a verified certificate; under testing what would fail is logged.
    boost::asio::awaitable<void> apply_mta_sts();
    // DANE (RFC 7672) for each DNSSEC-secure MX host: its TLSA records, looked up once per host;
    // a host whose look-up failed is left out; [[domain]] tls = "dane" keeps only DANE hosts.
    boost::asio::awaitable<void> apply_dane();
    void admit_destination();
    // In a cluster: the connection admit_destination() opened counts against the key's
    // max_connections on every node; without a lease the batch waits.
    boost::asio::awaitable<void> lease_connection();
    boost::asio::awaitable<void> read_messages();
    // A job whose spool file is there but cannot be read or parsed now (no file descriptors, an
    // I/O error, a file being repaired): tried again on the retry schedule, not forgotten.
    void retry_unreadable(job j, const std::string& error);
    void form_units();
    boost::asio::awaitable<void> transact();

    struct shared_permits {
        std::size_t granted = 0;
        bool shared = true;  // granted by Redis (false: by this node's share, Redis away)
        shaping::wait why;   // of the rest
    };

    boost::asio::awaitable<std::optional<shared_permits>> cluster_permits();
    boost::asio::awaitable<void> send_from(
        const shaping::admission::group& group, delivery::options& opts
    );
    boost::asio::awaitable<void> record(const unit& u, const delivery::delivery_result* r);
    // What record() does after deciding the outcomes.
    void react(const delivery::delivery_result& r, const std::vector<outcome_line>& lines);
    void note_tls_session(const delivery::attempt& a);
    bool settles(const loaded& it, const std::vector<outcome_line>& lines) const;
    boost::asio::awaitable<bool> make_durable(
        const loaded& it,
        const std::vector<outcome_line>& lines,
        const std::vector<dsn_recipient>& bounced,
        std::string retries,
        std::int64_t t
    );
    void report(
        const unit& u,
        const std::vector<recipient_outcome>& outcomes,
        const delivery::delivery_result* r,
        unsigned attempt,
        std::int64_t t,
        std::int64_t retry_at
    );
    void emit_event(
        const loaded& it,
        const unit& u,
        const recipient_outcome& outcome,
        const delivery::delivery_result* r,
        unsigned attempt,
        std::int64_t retry_at
    );
    void abandon(const std::exception& e);
    boost::asio::awaitable<void> finish();

    // Shaping: what waits goes back to the scheduler with the reason and the time it may go,
    // without counting as an attempt, but never past its lifetime.
    void wait_with(job j, const shaping::wait& w);
    // ... unless its lifetime is already over: then it is bounced here (4.4.7, with the reason
    // it was held back).
    void hold_back(job j, const shaping::wait& w);
    // A unit that may not go now: its recipients wait, no longer claimed by this batch.
    void put_back(const unit& u, const shaping::wait& w);
    // A recipient this batch hands back to the scheduler is no longer its own: the batch that
    // takes it next, while this one goes on, must find it unclaimed or it would skip it.
    void release(const claim& c);
    // A warming unit pays for mail a receiver saw, not for a connection that failed.
    void give_back(const shaping::admission::group& g);
    // The Message-ID a suppression entry and a VERP record name the message by: read from the
    // header once per message, however many recipients (VERP units) need it.
    static const std::string& message_id_of(const loaded& it);
    delivery::options delivery_options() const;
    // The [delivery] tls or [[domain]] tls for this destination (delivery_batch_tls.cpp, as the
    // MTA-STS parts are).
    delivery::tls_policy configured_tls() const;
    // Its name: the [[route]]'s tls, else the [[domain]]'s, else [delivery]'s; "dane" too.
    std::string configured_tls_name() const;
    // For the log: dane (the host had TLSA records), mta-sts, mta-sts-testing, or the
    // configured none/opportunistic/required/verify.
    std::string tls_policy_name(const std::string& host) const;

    runner& r_;
    std::vector<job> jobs_;
    const std::string destination_;
    const std::shared_ptr<const config::config> config_;  // the batch's, across a reload
    const config::config& cfg_;
    const std::chrono::milliseconds lifetime_;
    std::set<std::string> messages_;  // held by this batch until it ends (send_due_dsn)

    std::vector<claim> mine_;    // recipients this batch claimed
    std::set<claim> decided_;    // ... whose final outcome was recorded
    bool units_formed_ = false;  // mine_ says what this batch still holds

    std::vector<job> overdue_;  // held back by shaping until their lifetime ended
    std::set<std::uint64_t> overdue_serials_;
    std::string held_back_;  // why the overdue jobs were not sent

    std::vector<delivery::target> targets_;
    std::string route_tls_;  // the [[route]]'s tls, when a route with one took the destination
    std::optional<tlspolicy::active_policy>
        mta_sts_;  // the domain's MTA-STS policy, when it has one
    std::map<std::string, tlspolicy::dane_decision> dane_;  // by MX host, for secure hosts
    std::optional<route_failure> route_failure_;
    std::optional<shaping::destination> shaped_;
    // The connection slot this batch holds against its throttle key's max_connections, from
    // the moment may_connect() said yes until the batch ends.
    std::optional<shaping::destination> holding_;
    std::optional<std::string> lease_;  // the cluster's connection lease of holding_'s key
    std::string provider_label_;  // the metrics' provider: by MX when the destination resolved
    // Warming units taken for transactions not yet handed to delivery: given back when the batch
    // fails before it gets that far (what delivery was handed stays spent: it may have been seen).
    std::vector<shaping::counter_key> untried_units_;

    std::vector<loaded> items_;
    std::vector<unit> units_;
    std::vector<unit> dropped_;                // suppressed recipients
    std::vector<unit> expired_units_;          // held back by shaping until their lifetime ended
    std::optional<std::size_t> sending_from_;  // the source IP of the connection in use
};

}  // namespace outpost::queue
