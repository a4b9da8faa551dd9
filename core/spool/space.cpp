#include "core/spool/space.hpp"

#include <cerrno>

#include <sys/statvfs.h>

namespace outpost::spool {

std::optional<std::uint64_t> space_guard::free_bytes() const {
    if (measure_)
        return measure_();

    struct statvfs st {};

    if (::statvfs(dir_.c_str(), &st) != 0)
        return std::nullopt;
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

bool disk_full(const std::error_code& ec) {
    return ec == std::errc::no_space_on_device || ec.value() == EDQUOT;
}

namespace {

constexpr std::chrono::milliseconds reading_lifetime{50};
// Far more than can be written in reading_lifetime (100 KB messages at 2,000 a second are 10 MB).
constexpr std::uint64_t reading_margin = 256ull << 20;

}  // namespace

bool reading_still_good(
    std::uint64_t free,
    std::chrono::steady_clock::duration age,
    std::uint64_t reserve,
    std::uint64_t extra
) {
    return age >= std::chrono::steady_clock::duration::zero() && age < reading_lifetime &&
           free >= reserve + extra + reading_margin;
}

bool space_guard::low(std::uint64_t extra) {
    auto now = now_();
    if (last_free_ && reading_still_good(*last_free_, now - last_read_, reserve_, extra))
        return false;
    auto free = free_bytes();
    last_free_ = free;
    last_read_ = now;
    return free && *free < reserve_ + extra;
}

}  // namespace outpost::spool
