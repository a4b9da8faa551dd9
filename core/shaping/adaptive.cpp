// Multiplicative decrease, additive recovery and growing suspensions.
#include "core/shaping/adaptive.hpp"

#include <algorithm>
#include <cmath>

namespace outpost::shaping {

double adaptive_rate::fraction(steady_time now) const {
    if (!ever_)
        return 1;
    if (now <= until_)
        return fraction_;
    std::chrono::duration<double, std::ratio<60>> minutes = now - until_;
    return std::min(1.0, fraction_ + minutes.count() * options_.recovery_per_minute);
}

backoff_change adaptive_rate::on_slow_down(steady_time now) {
    if (ever_ && suspended(now))
        return backoff_change{false, fraction_, std::chrono::seconds{0}, until_, repeats_};
    if (ever_ && now - until_ < options_.repeat_window)
        ++repeats_;
    else
        repeats_ = 0;
    double current = fraction(now);
    double factor = std::pow(options_.backoff_multiplier, static_cast<double>(repeats_));
    double seconds = static_cast<double>(options_.initial_backoff.count()) * factor;
    auto suspension = std::chrono::seconds(static_cast<std::int64_t>(
        std::min(seconds, static_cast<double>(options_.max_backoff.count()))
    ));
    fraction_ = std::max(options_.min_fraction, current * options_.decrease_factor);
    until_ = now + suspension;
    ever_ = true;
    return backoff_change{true, fraction_, suspension, until_, repeats_};
}

void adaptive_rate::restore(double fraction, steady_time until, unsigned repeats) {
    fraction_ = std::clamp(fraction, options_.min_fraction, 1.0);
    until_ = until;
    repeats_ = repeats;
    ever_ = true;
}

void adaptive_rate::reset() {
    fraction_ = 1;
    until_ = {};
    ever_ = false;
    repeats_ = 0;
}

}  // namespace outpost::shaping
