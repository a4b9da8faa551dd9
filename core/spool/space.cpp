#include "core/spool/space.hpp"

#include <cerrno>

#include <sys/statvfs.h>

namespace outpost::spool {

std::optional<std::uint64_t> space_guard::free_bytes() const {
    struct statvfs st {};

    if (::statvfs(dir_.c_str(), &st) != 0)
        return std::nullopt;
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

bool disk_full(const std::error_code& ec) {
    return ec == std::errc::no_space_on_device || ec.value() == EDQUOT;
}

bool space_guard::low(std::uint64_t extra) const {
    auto free = free_bytes();
    return free && *free < reserve_ + extra;
}

}  // namespace outpost::spool
