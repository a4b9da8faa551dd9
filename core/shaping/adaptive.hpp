// Adaptive backoff for one destination: "slow down" replies cut its rate and suspend it.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/shaping/rate.hpp"

namespace outpost::shaping {

struct adaptive_options {
    double decrease_factor = 0.5;  // multiplicative decrease on each slow-down
    double min_fraction = 0.05;    // the rate never drops below this share of the configured one
    // Additive recovery: share of the configured rate regained per minute without a slow-down,
    // counted from the end of the suspension.
    double recovery_per_minute = 0.05;
    std::chrono::seconds initial_backoff = std::chrono::minutes(1);
    double backoff_multiplier = 2.0;
    std::chrono::seconds max_backoff = std::chrono::hours(1);
    // A slow-down less than this long after the previous suspension ended is a repeat and gets a
    // longer suspension; after a quiet spell the backoff starts again from initial_backoff.
    std::chrono::seconds repeat_window = std::chrono::minutes(30);
};

// What one slow-down did, for the log line.
struct backoff_change {
    bool applied = false;  // false: the destination was already suspended; nothing changed
    double fraction = 1;   // of the configured rate, after the decrease
    std::chrono::seconds suspension{0};
    steady_time until{};
    unsigned repeats = 0;  // slow-downs in a row before this one
};

// The adaptive state of one destination (domain or provider). Pure: time is passed in.
class adaptive_rate {
public:
    explicit adaptive_rate(adaptive_options options = {}) : options_(options) {}

    // Records a "slow down" reply at now: suspends the destination (initial_backoff, multiplied on
    // each repeat up to max_backoff) and cuts its rate by decrease_factor. Replies that arrive
    // while it is already suspended (other connections in flight) change nothing.
    backoff_change on_slow_down(steady_time now);

    // Share of the configured rate allowed at now, in [min_fraction, 1]: 1 until a slow-down, then
    // recovering linearly (additive increase) after the suspension ends.
    double fraction(steady_time now) const;

    bool suspended(steady_time now) const { return now < until_; }

    // End of the current (or last) suspension; a default time_point when there never was one.
    steady_time suspended_until() const { return until_; }

    unsigned repeats() const { return repeats_; }

    // Back to the configured rate, no suspension, no repeat history (operator reset, reload).
    void reset();

    // The state a slow-down left, as kept across a restart: the rate share at the end of the
    // suspension, the end, and the repeats so far.
    void restore(double fraction, steady_time until, unsigned repeats);

    const adaptive_options& options() const { return options_; }

private:
    adaptive_options options_;
    double fraction_ = 1;  // at until_ (the recovery starts there)
    steady_time until_{};  // end of the last suspension
    bool ever_ = false;    // a slow-down was ever recorded (until_ is meaningful)
    unsigned repeats_ = 0;
};

}  // namespace outpost::shaping
