#include "core/listener/auth_limiter.hpp"

namespace outpost::listener {

void auth_limiter::expire(std::deque<clock::time_point>& times, clock::time_point now) const {
    while (!times.empty() && now - times.front() >= window_)
        times.pop_front();
}

bool auth_limiter::locked_out(const std::string& client, clock::time_point now) {
    auto it = failures_.find(client);
    if (it == failures_.end())
        return false;
    expire(it->second, now);
    if (it->second.empty()) {
        failures_.erase(it);
        return false;
    }
    return it->second.size() >= max_failures_;
}

void auth_limiter::record_failure(const std::string& client, clock::time_point now) {
    if (failures_.size() >= max_clients_) {
        for (auto it = failures_.begin(); it != failures_.end();) {
            expire(it->second, now);
            it = it->second.empty() ? failures_.erase(it) : std::next(it);
        }
    }
    auto& times = failures_[client];
    expire(times, now);
    times.push_back(now);
    // Never keep more than needed to decide.
    while (times.size() > max_failures_)
        times.pop_front();
}

}  // namespace outpost::listener
