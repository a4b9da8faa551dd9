// Counts failed AUTH attempts per client address in a sliding window (pure: time is passed in).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>

namespace outpost::listener {

class auth_limiter {
public:
    using clock = std::chrono::steady_clock;

    auth_limiter(unsigned max_failures, clock::duration window, std::size_t max_clients = 100000)
        : max_failures_(max_failures), window_(window), max_clients_(max_clients) {}

    // True when the client has max_failures failures inside the window: refuse AUTH at once.
    bool locked_out(const std::string& client, clock::time_point now);
    void record_failure(const std::string& client, clock::time_point now);

    // A success does not erase failures: a guesser with one valid account gains nothing.

    std::size_t clients() const { return failures_.size(); }

private:
    void expire(std::deque<clock::time_point>& times, clock::time_point now) const;

    unsigned max_failures_;
    clock::duration window_;
    std::size_t max_clients_;  // memory bound: the table is pruned when it grows past this
    std::unordered_map<std::string, std::deque<clock::time_point>> failures_;
};

}  // namespace outpost::listener
