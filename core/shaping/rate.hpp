// Sending rates ("60/min") and the token bucket that enforces them, with time passed in.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace outpost::shaping {

using steady_time = std::chrono::steady_clock::time_point;

// COUNT per PERIOD, as written in [[provider]] and [[throttle]] rate = "60/min".
struct rate {
    std::uint64_t count = 0;
    std::chrono::seconds period{1};

    double per_second() const {
        return static_cast<double>(count) / static_cast<double>(period.count());
    }

    // "60/min": the canonical spelling of the unit.
    std::string text() const;

    bool operator==(const rate&) const = default;
};

// Parses "N/s", "N/sec", "N/second", "N/m", "N/min", "N/minute", "N/h", "N/hour", "N/d", "N/day"
// (units case-insensitive, spaces around '/' allowed). N must be a positive integer; nullopt for
// anything else, including "0/min" (stopping a destination is not a rate).
std::optional<rate> parse_rate(std::string_view text);

// A token bucket: tokens refill continuously at per_second up to burst; a send takes one token.
// It starts full. With burst 1 sends are spaced exactly 1/per_second apart, which is what a
// receiver's "N per minute" limit expects; a larger burst allows short spikes.
class token_bucket {
public:
    token_bucket(double per_second, double burst, steady_time now);

    // Takes n tokens and returns true when they are there; otherwise takes nothing.
    bool try_take(steady_time now, double n = 1);

    // How long until n tokens are there (zero when they already are). n above burst never
    // becomes available: the result is then the time to fill the bucket completely.
    std::chrono::nanoseconds wait_for(steady_time now, double n = 1) const;

    // Changes the refill rate from now on (adaptive backoff); tokens already earned are kept.
    void set_rate(double per_second, steady_time now);

    double available(steady_time now) const;

    double rate_per_second() const { return per_second_; }

    double burst() const { return burst_; }

private:
    void refill(steady_time now);

    double per_second_;
    double burst_;
    double tokens_;
    steady_time last_;
};

}  // namespace outpost::shaping
