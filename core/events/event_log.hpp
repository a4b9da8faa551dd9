// The durable event log: every recipient's outcome as a line of JSON (event.hpp), appended to
// segment files spool_dir/events/events-NNNNNNNNNNNN.jsonl. Each event is written to the file
// (one write(2) of a whole line) when it happens, so it survives a crash of the process at
// once; the file is fdatasync'ed within 100 ms (group commit), so a power cut loses at most the
// last 100 ms of events. A line torn by a power cut is cut off at the next start; a damaged
// line is skipped by readers (it loses only itself). A new segment starts at 64 MiB.
// Readers (webhooks) keep a position: the segment and the offset after the last line they took.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/events/event.hpp"

namespace outpost::events {

struct position {
    std::uint64_t segment = 0;
    std::uint64_t offset = 0;

    auto operator<=>(const position&) const = default;
};

std::string segment_name(std::uint64_t segment);
// The segments in dir, oldest first.
std::vector<std::uint64_t> list_segments(const std::filesystem::path& dir);

// What one read gave: whole lines (without their newline), where the next read starts, and how
// many lines were skipped as damaged.
struct read_result {
    std::vector<std::string> lines;
    position next;
    std::size_t damaged = 0;
};

// Up to max_lines whole lines from at onwards, following into later segments; lines that are not
// events are skipped; accept() chooses which events to return (the others are passed over).
read_result read_events(
    const std::filesystem::path& dir,
    position at,
    std::size_t max_lines,
    const std::function<bool(const event&)>& accept
);

class event_log {
public:
    // Opens (creating) dir and the newest segment, cutting a torn last line off; throws
    // std::runtime_error when it cannot.
    explicit event_log(std::filesystem::path dir, std::uint64_t segment_limit = 64ull << 20);
    ~event_log();
    event_log(const event_log&) = delete;
    event_log& operator=(const event_log&) = delete;

    // Fills in id and time when empty, writes the line; false (and an error logged once) when
    // the write failed (disk full).
    bool append(event e);

    // Where the next event will be written (a new reader that wants only new events starts here).
    position end() const { return {segment_, size_}; }

    const std::filesystem::path& dir() const { return dir_; }

    // Called after each append (webhook senders wake up).
    void on_append(std::function<void()> f) { on_append_.push_back(std::move(f)); }

    // Removes segments older than max_age (by their last write) that every reader has passed
    // (keep_from: the oldest reader position); never the one being written.
    void prune(std::chrono::seconds max_age, position keep_from);

    std::uint64_t appended() const { return appended_; }

    std::uint64_t failed() const { return failed_ + sync_failures_; }

private:
    void open_segment(std::uint64_t segment);
    void sync_loop();

    std::filesystem::path dir_;
    std::uint64_t segment_limit_;
    std::uint64_t segment_ = 0;
    std::uint64_t size_ = 0;
    int fd_ = -1;
    std::uint64_t appended_ = 0;
    std::uint64_t failed_ = 0;
    bool said_failure_ = false;
    std::vector<std::function<void()>> on_append_;

    // The sync thread: fdatasyncs the file written to when something was written since.
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<std::uint64_t> sync_failures_ = 0;  // fdatasync errors (counted as failures)
    std::atomic<bool> dirty_ = false;  // set without the lock: append never waits for a sync
    bool stopping_ = false;
    int sync_fd_ = -1;  // dup of fd_: rotation closes fd_ while a sync may be running
    std::thread syncer_;
};

}  // namespace outpost::events
