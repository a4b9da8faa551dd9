// Free space on the spool's file system against a reserve: new mail is refused (452 4.3.1) while
// less than the reserve is free, so the space that is left goes to delivery bookkeeping (results
// appended to spool files, DSNs), which must never be the write that fails on a full disk.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <system_error>

namespace outpost::spool {

// Whether a free-space reading taken `age` ago still answers low(extra) without asking the file
// system again: only when it is recent and far above the reserve, so that nothing written since
// (at most a few megabytes in that time) could have brought it down to the reserve. Near the
// reserve every check asks.
bool reading_still_good(
    std::uint64_t free,
    std::chrono::steady_clock::duration age,
    std::uint64_t reserve,
    std::uint64_t extra
);

// Not thread-safe: the event loop's alone.
class space_guard {
public:
    using clock = std::function<std::chrono::steady_clock::time_point()>;
    // Free bytes; nullopt when they cannot be known. Tests give their own.
    using meter = std::function<std::optional<std::uint64_t>()>;

    space_guard(
        std::filesystem::path dir,
        std::uint64_t reserve,
        clock now = [] { return std::chrono::steady_clock::now(); },
        meter measure = {}
    )
        : dir_(std::move(dir)),
          reserve_(reserve),
          now_(std::move(now)),
          measure_(std::move(measure)) {}

    // Bytes free to an unprivileged writer (statvfs, unless a meter was given); nullopt when
    // statvfs fails.
    std::optional<std::uint64_t> free_bytes() const;

    // True when taking `extra` more bytes would leave less than the reserve free. A file system
    // that cannot be asked counts as not low: the write itself then says whether it fits. Asks
    // the file system at most every few milliseconds while far from the reserve (a statvfs per
    // MAIL, RCPT and message was 1.4% of the event loop under load).
    bool low(std::uint64_t extra = 0);

    std::uint64_t reserve() const { return reserve_; }

private:
    std::filesystem::path dir_;
    std::uint64_t reserve_;
    clock now_;
    meter measure_;
    std::optional<std::uint64_t> last_free_;
    std::chrono::steady_clock::time_point last_read_{};
};

// Whether a write failed because the file system (or the user's quota) is full.
bool disk_full(const std::error_code& ec);

}  // namespace outpost::spool
