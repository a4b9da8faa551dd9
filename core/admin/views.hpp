// The admin API's JSON documents, shared by outpostd (which serves them) and outpostctl (which
// builds the same documents from the spool when the daemon is down, and renders them as tables).
// Pure: scheduler jobs and parsed spool records in, boost::json values out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/queue/scheduler.hpp"
#include "core/spool/record.hpp"

namespace outpost::admin {

// ready: due now; deferred: waiting for its next attempt; active: being delivered; queued: read
// from the spool without the daemon, so its timing is unknown (the spool keeps final results,
// not attempts).
enum class job_state { ready, deferred, active, queued, held };

std::string_view to_string(job_state s);
std::optional<job_state> parse_job_state(std::string_view s);

// One row of the queue: a message's pending recipients at one destination.
struct queue_entry {
    std::string id;
    std::string destination;  // lower case
    std::vector<std::uint32_t> rcpts;
    job_state state = job_state::queued;
    unsigned attempts = 0;
    std::int64_t arrived = 0;
    std::int64_t next_attempt = 0;  // unix seconds; 0 when unknown
    std::string last_reply;         // the last temporary failure; empty before the first attempt
    std::string waiting;            // why shaping holds it back until next_attempt; empty: a retry
};

// A scheduler job; ready when its next attempt is not after now.
queue_entry entry_of(const queue::job& j, std::int64_t now);

// The pending recipients of a spool record (those without a final result), one entry per
// destination, all in the given state.
std::vector<queue_entry> entries_of(const spool::record& rec, job_state state);

struct queue_filter {
    std::optional<std::string> domain;  // compared without regard to case
    std::optional<job_state> state;
};

bool matches(const queue_entry& e, const queue_filter& f);

// {"source": ..., "now": ..., "jobs": [...]}, oldest message first. source says where the
// listing came from: "daemon" or "spool".
boost::json::object queue_json(
    std::vector<queue_entry> entries, std::int64_t now, std::string_view source
);

boost::json::object entry_json(const queue_entry& e);

// One message: its envelope, and each recipient's state: delivered or bounced (with the time and
// the reply recorded in the spool), or the state, attempts, next attempt and last reply of the
// entry that holds it; a recipient no entry holds is in state `unmatched`.
boost::json::object message_json(
    const spool::record& rec,
    const std::vector<queue_entry>& entries,
    job_state unmatched,
    std::string_view source
);

}  // namespace outpost::admin
