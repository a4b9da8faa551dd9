// Retry arithmetic: when to try a deferred recipient again, and when to give up (pure).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace outpost::queue {

using seconds = std::chrono::seconds;

// The delay before attempt number `attempts + 1`, after `attempts` failed ones:
// schedule[attempts-1], the last entry repeating. jitter01 in [0, 1) spreads retries over ±10% so a
// burst deferred together does not come back together.
seconds retry_delay(
    const std::vector<std::chrono::milliseconds>& schedule, unsigned attempts, double jitter01
);

// True when a message that arrived at `arrived` has been queued longer than max_lifetime.
bool expired(std::int64_t arrived, std::int64_t now, std::chrono::milliseconds max_lifetime);

}  // namespace outpost::queue
