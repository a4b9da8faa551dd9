#include "core/spool/queue_id.hpp"

#include <atomic>
#include <chrono>
#include <random>

#include <fmt/format.h>

namespace outpost::spool {

std::string format_queue_id(std::uint64_t unix_ms, std::uint32_t counter) {
    return fmt::format("{:011X}{:05X}", unix_ms & 0xFFFFFFFFFFFull, counter & 0xFFFFFu);
}

std::string next_queue_id() {
    static std::atomic<std::uint32_t> counter{std::random_device{}()};
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch()
    );
    return format_queue_id(static_cast<std::uint64_t>(ms.count()), counter.fetch_add(1));
}

bool valid_queue_id(std::string_view id) {
    if (id.size() != 16)
        return false;
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            return false;
    return true;
}

}  // namespace outpost::spool
