// Queue ids: unique, time-sortable names for spooled messages (and their spool files).
#pragma once

#include <cstdint>
#include <string>

namespace outpost::spool {

// 16 upper-case hex digits: 11 of milliseconds since the epoch, then 5 of a per-process counter
// that starts at a random value, so ids sort by arrival and two processes (or a restart in the
// same millisecond) do not collide in practice; the writer's O_EXCL open makes a collision an
// error, never an overwrite. Thread-safe.
std::string next_queue_id();

// Pure form for tests: the id for a given time and counter.
std::string format_queue_id(std::uint64_t unix_ms, std::uint32_t counter);

bool valid_queue_id(std::string_view id);

}  // namespace outpost::spool
