#include "core/util/metrics.hpp"

#include <algorithm>
#include <cassert>

namespace outpost::util {

histogram::histogram(std::initializer_list<double> bounds) {
    assert(bounds.size() <= max_buckets && std::is_sorted(bounds.begin(), bounds.end()));
    for (double b : bounds)
        if (size_ < max_buckets)
            bounds_[size_++] = b;
}

void histogram::observe(double seconds) {
    if (!(seconds >= 0))
        seconds = 0;
    auto i = static_cast<std::size_t>(
        std::lower_bound(
            bounds_.begin(), bounds_.begin() + static_cast<std::ptrdiff_t>(size_), seconds
        ) -
        bounds_.begin()
    );
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
    snapshot s;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < size_; ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        s.bounds.push_back(bounds_[i]);
        s.cumulative.push_back(running);
    }
    s.count = running + counts_[size_].load(std::memory_order_relaxed);
    s.sum = static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
    return s;
}

void provider_outcomes::add(std::string_view provider, outcome o) {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(provider);
    if (it == counts_.end())
        it = counts_.emplace(std::string(provider), std::array<std::uint64_t, 3>{}).first;
    ++it->second[static_cast<std::size_t>(o)];
}

std::map<std::string, std::array<std::uint64_t, 3>> provider_outcomes::read() const {
    std::lock_guard lock(mutex_);
    return {counts_.begin(), counts_.end()};
}

void reload_record::set(std::int64_t at, bool ok, std::string error) {
    std::lock_guard lock(mutex_);
    value_ = {at, ok, std::move(error)};
}

reload_record::value reload_record::read() const {
    std::lock_guard lock(mutex_);
    return value_;
}

void labeled_counter::add(std::string_view label) {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(label);
    if (it == counts_.end())
        it = counts_.emplace(std::string(label), 0).first;
    ++it->second;
}

std::map<std::string, std::uint64_t> labeled_counter::read() const {
    std::lock_guard lock(mutex_);
    return {counts_.begin(), counts_.end()};
}

}  // namespace outpost::util
