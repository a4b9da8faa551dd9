// The retired spool files kept in tmp/ for new messages to overwrite, as a state machine without
// I/O: the writer renames and deletes, this decides which file may be overwritten when.
//
// A file retired from queue/ may be overwritten only after an fsync of queue/ made its leaving
// durable; before that, a power cut could bring back queue/<old> naming the inode that now holds
// another message's bytes. Bounded in files and bytes, and only small files are kept, so the
// pool never holds much disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace outpost::spool {

class file_pool {
public:
    struct limits {
        std::size_t files = 2048;
        std::uint64_t bytes = 16 * 1024 * 1024;
        std::uint64_t file_size = 256 * 1024;  // larger files are deleted, not kept
    };

    file_pool() = default;

    explicit file_pool(limits l) : limits_(l) {}

    // Whether a retired file of `size` bytes is kept (the caller then moves it to tmp/ and calls
    // retired) or deleted.
    bool fits(std::uint64_t size) const;

    // A file now in tmp/ under `id`, moved out of queue/ but not yet durably.
    void retired(std::string id, std::uint64_t size);

    // queue/ was fsynced: every file retired before now is durably out of it.
    void directory_synced();

    // The name in tmp/ of a file that may be overwritten, taken out of the pool; nullopt when none.
    std::optional<std::string> take();

    // Every name kept, for deletion; the pool is empty afterwards.
    std::vector<std::string> drain();

    bool waiting_for_sync() const { return !unsynced_.empty(); }

    std::size_t files() const { return unsynced_.size() + reusable_.size(); }

    std::uint64_t bytes() const { return bytes_; }

private:
    struct entry {
        std::string id;
        std::uint64_t size = 0;
    };

    limits limits_;
    std::vector<entry> unsynced_;
    std::deque<entry> reusable_;
    std::uint64_t bytes_ = 0;
};

}  // namespace outpost::spool
