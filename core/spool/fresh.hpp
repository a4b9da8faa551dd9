// Messages just spooled, kept in memory for their first delivery, so that it does not read back
// the file written a moment before (open, fstat, read, close on a worker thread, and the hops
// there and back, for every message). The first batch that reads a message takes its copy; later
// attempts read the file, which by then holds results the copy lacks. Bounded in messages and
// bytes, the oldest dropped first: a message whose destination is down is read from disk later,
// as before. Pure: no I/O, one thread (the event loop).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace outpost::spool {

class fresh_files {
public:
    // Larger messages are not kept (nor copied by intake to be kept).
    static constexpr std::size_t largest = 256 * 1024;

    struct limits {
        std::size_t files = 1024;
        std::size_t bytes = 8 * 1024 * 1024;
    };

    fresh_files() = default;

    explicit fresh_files(limits l) : limits_(l) {}

    // The file's whole text as written to queue/<id>. Larger than `largest` or the byte limit:
    // not kept.
    void put(const std::string& id, std::string file);
    // The copy, taken out: nullopt when not kept (dropped, taken before, or never put).
    std::optional<std::string> take(const std::string& id);
    // Deleted or changed on disk: the copy no longer says what the file does.
    void forget(const std::string& id);

    std::size_t size() const { return files_.size(); }

    std::size_t bytes() const { return bytes_; }

private:
    void drop_oldest();

    limits limits_;
    std::unordered_map<std::string, std::string> files_;
    std::deque<std::string> order_;  // ids as put; some taken since (skipped when dropping)
    std::size_t bytes_ = 0;
};

}  // namespace outpost::spool
