// The in-memory index of the spool that decides what to deliver next, without scanning the
// spool: one FIFO of ready jobs per destination and one min-heap of deferred jobs. A job is one
// message's pending recipients at one destination (all recipients at a domain go in one
// transaction). Pure: time is passed in, nothing here touches sockets or disks.
//
// Memory: a queued job costs its struct and map node (~250 bytes), a heap entry while deferred,
// its queue id and recipients' indexes on the heap; its last reply and reason to wait are shared
// with every job that has the same text (util::shared_text). `scripts/bench --queue-scale`
// measures the whole daemon: about 850 B per queued message. The message bytes stay on disk.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "core/spool/record.hpp"
#include "core/util/shared_text.hpp"

namespace outpost::queue {

struct job {
    std::string id;                    // queue id of the spool file
    std::string destination;           // recipient domain, lower case
    std::vector<std::uint32_t> rcpts;  // indexes into the envelope's recipients
    std::int64_t arrived = 0;
    unsigned attempts = 0;          // failed attempts so far
    std::int64_t next_attempt = 0;  // unix seconds
    std::uint64_t serial = 0;       // identity while queued (a job may be re-added)
    std::uint8_t priority = 1;      // 0 high, 1 normal, 2 low: ready jobs go in this order
    // The last temporary failure, for outpostctl queue show; the jobs of a destination that is
    // down share one copy.
    util::shared_text last_reply;
    // Why shaping holds it back until next_attempt (a warming cap, a throttle, a backoff); empty
    // when it waits for a retry after last_reply. Waiting is not an attempt.
    util::shared_text waiting;
};

struct scheduler_stats {
    std::size_t ready = 0;
    std::size_t deferred = 0;
    std::size_t active = 0;
    std::size_t destinations = 0;
};

// 0 for "high", 2 for "low", 1 for anything else.
std::uint8_t priority_rank(std::string_view priority);

// The destination of an address: its domain in lower case.
std::string destination_of(std::string_view address);

// Jobs for a spool record: its pending recipients (no result line yet) grouped by destination,
// one job each.
std::vector<job> jobs_for(const spool::record& rec);

class scheduler {
public:
    // New or deferred work. Ready at once when next_attempt <= now.
    void add(job j, std::int64_t now);

    // Moves deferred jobs whose time has come to their destination's ready queue.
    void wake(std::int64_t now);

    // Up to max_jobs ready jobs for one destination that has fewer than max_active jobs in flight
    // (oldest destination first, round-robin). Empty when nothing may start.
    std::vector<job> take(
        std::size_t max_jobs, std::size_t max_active_per_destination, std::size_t max_active_total
    );

    // A taken job is finished (delivered, bounced or handed back with add()).
    void finished(const std::string& destination);

    // Makes every deferred job (or those of one destination, or one message) ready now.
    std::size_t flush(
        std::int64_t now,
        const std::optional<std::string>& destination = std::nullopt,
        const std::optional<std::string>& id = std::nullopt
    );

    // Makes every job that shaping holds back (waiting is set) ready now: a reload may have
    // raised a cap or a rate. The shaper sends back what still may not go.
    std::size_t flush_waiting(std::int64_t now);

    // Removes a message's jobs that are not in flight; returns how many.
    std::size_t remove(const std::string& id);

    // When the earliest deferred job is due; nullopt when none.
    std::optional<std::int64_t> next_wakeup() const;

    scheduler_stats stats() const;

    // Every queued (not in flight) job, for listings.
    std::vector<const job*> queued() const;

private:
    std::size_t flush_if(std::int64_t now, const std::function<bool(const job&)>& match);

    struct destination_state {
        std::deque<job> ready;  // by priority, then in order of arrival here
        std::size_t active = 0;
    };

    void make_ready(job j);

    struct heap_entry {
        std::int64_t at;
        std::uint64_t serial;

        bool operator>(const heap_entry& o) const {
            return at > o.at || (at == o.at && serial > o.serial);
        }
    };

    std::map<std::string, destination_state> destinations_;
    std::map<std::uint64_t, job> deferred_;  // by serial
    // Entries of flushed or removed jobs stay until they reach the top (lazy deletion).
    mutable std::priority_queue<heap_entry, std::vector<heap_entry>, std::greater<>> heap_;
    std::size_t active_ = 0;
    std::uint64_t next_serial_ = 1;
    std::string cursor_;  // round-robin position among destinations
};

}  // namespace outpost::queue
