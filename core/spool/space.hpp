// Free space on the spool's file system against a reserve: new mail is refused (452 4.3.1) while
// less than the reserve is free, so the space that is left goes to delivery bookkeeping (results
// appended to spool files, DSNs), which must never be the write that fails on a full disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <system_error>

namespace outpost::spool {

class space_guard {
public:
    space_guard(std::filesystem::path dir, std::uint64_t reserve)
        : dir_(std::move(dir)), reserve_(reserve) {}

    // Bytes free to an unprivileged writer; nullopt when statvfs fails.
    std::optional<std::uint64_t> free_bytes() const;

    // True when taking `extra` more bytes would leave less than the reserve free. A file system
    // that cannot be asked counts as not low: the write itself then says whether it fits.
    bool low(std::uint64_t extra = 0) const;

    std::uint64_t reserve() const { return reserve_; }

private:
    std::filesystem::path dir_;
    std::uint64_t reserve_;
};

// Whether a write failed because the file system (or the user's quota) is full.
bool disk_full(const std::error_code& ec);

}  // namespace outpost::spool
