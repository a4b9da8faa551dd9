#include "core/queue/retry.hpp"

#include <algorithm>

namespace outpost::queue {

seconds retry_delay(
    const std::vector<std::chrono::milliseconds>& schedule, unsigned attempts, double jitter01
) {
    if (schedule.empty())
        return seconds(300);
    auto index = std::min<std::size_t>(attempts == 0 ? 0 : attempts - 1, schedule.size() - 1);
    auto base = std::chrono::duration<double>(schedule[index]).count();
    auto jittered = base * (0.9 + 0.2 * std::clamp(jitter01, 0.0, 1.0));
    return seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(jittered)));
}

bool expired(std::int64_t arrived, std::int64_t now, std::chrono::milliseconds max_lifetime) {
    return now - arrived >= std::chrono::duration_cast<seconds>(max_lifetime).count();
}

}  // namespace outpost::queue
