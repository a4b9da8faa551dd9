// The generic cell rate algorithm (GCRA, as in ATM's traffic policing and KumoMTA's throttles) for
// several permits at once: one number per key, the theoretical arrival time (TAT) of the next
// permit, so that a shared store can keep a rate with one atomic read-modify-write. The
// cluster's Redis script (core/cluster/shared_throttles.cpp) is this function in Lua. Pure.
#pragma once

#include <cstddef>
#include <cstdint>

namespace outpost::shaping {

struct gcra_take {
    std::size_t granted = 0;
    std::int64_t tat = 0;   // the key's new TAT (µs)
    std::int64_t wait = 0;  // when not all were granted: µs until the next permit
};

// Up to wanted permits at now (µs) for a key whose TAT is tat (0: never used), one permit per
// interval (µs) with up to burst permits at once after a quiet spell (burst >= 1). Over any
// window of length T no more than burst + T / interval permits are granted.
gcra_take gcra(
    std::int64_t tat,
    std::int64_t now,
    std::int64_t interval,
    std::uint64_t burst,
    std::size_t wanted
);

}  // namespace outpost::shaping
