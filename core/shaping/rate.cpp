// Rate parsing and the token bucket.
#include "core/shaping/rate.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::shaping {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::string rate::text() const {
    switch (period.count()) {
        case 1:
            return fmt::format("{}/s", count);
        case 60:
            return fmt::format("{}/min", count);
        case 3600:
            return fmt::format("{}/h", count);
        case 86400:
            return fmt::format("{}/day", count);
        default:
            return fmt::format("{}/{}s", count, period.count());
    }
}

std::optional<rate> parse_rate(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return std::nullopt;
    auto number = trim(text.substr(0, slash));
    auto unit = util::to_lower(trim(text.substr(slash + 1)));
    if (number.empty() || number.size() > 12)
        return std::nullopt;
    std::uint64_t n = 0;
    for (char c : number) {
        if (c < '0' || c > '9')
            return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n == 0)
        return std::nullopt;
    std::chrono::seconds period{0};
    if (unit == "s" || unit == "sec" || unit == "second")
        period = std::chrono::seconds(1);
    else if (unit == "m" || unit == "min" || unit == "minute")
        period = std::chrono::minutes(1);
    else if (unit == "h" || unit == "hour")
        period = std::chrono::hours(1);
    else if (unit == "d" || unit == "day")
        period = std::chrono::hours(24);
    else
        return std::nullopt;
    return rate{n, period};
}

token_bucket::token_bucket(double per_second, double burst, steady_time now)
    : per_second_(per_second), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

void token_bucket::refill(steady_time now) {
    if (now <= last_)
        return;
    std::chrono::duration<double> elapsed = now - last_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * per_second_);
    last_ = now;
}

bool token_bucket::try_take(steady_time now, double n) {
    refill(now);
    // A hair of tolerance: 60 sends per minute must not fail on a rounding error.
    if (tokens_ + 1e-9 < n)
        return false;
    tokens_ = std::max(0.0, tokens_ - n);
    return true;
}

double token_bucket::available(steady_time now) const {
    auto copy = *this;
    copy.refill(now);
    return copy.tokens_;
}

std::chrono::nanoseconds token_bucket::wait_for(steady_time now, double n) const {
    double missing = std::min(n, burst_) - available(now);
    if (missing <= 1e-9)
        return std::chrono::nanoseconds{0};
    if (per_second_ <= 0)
        return std::chrono::nanoseconds::max();
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(missing / per_second_ * 1e9)
    ));
}

void token_bucket::set_rate(double per_second, steady_time now) {
    refill(now);
    per_second_ = per_second;
}

}  // namespace outpost::shaping
