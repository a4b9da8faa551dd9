#include "core/events/event_log.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/log.hpp"

namespace outpost::events {

namespace fs = std::filesystem;

namespace {

constexpr auto sync_interval = std::chrono::milliseconds(100);

std::uint64_t segment_of(const std::string& name) {
    // events-NNNNNNNNNNNN.jsonl
    if (name.size() != 7 + 12 + 6 || !name.starts_with("events-") || !name.ends_with(".jsonl"))
        return 0;
    std::uint64_t n = 0;
    for (char c : name.substr(7, 12)) {
        if (c < '0' || c > '9')
            return 0;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

// Cuts everything after the last newline (a line torn by a crash) off the file.
std::uint64_t cut_torn_tail(int fd) {
    struct stat st {};

    if (::fstat(fd, &st) != 0)
        return 0;
    auto size = static_cast<std::uint64_t>(st.st_size);
    std::uint64_t keep = size;
    char buf[4096];
    while (keep > 0) {
        auto chunk = std::min<std::uint64_t>(keep, sizeof buf);
        if (::pread(fd, buf, chunk, static_cast<off_t>(keep - chunk)) !=
            static_cast<ssize_t>(chunk))
            return size;
        auto* nl = static_cast<char*>(::memrchr(buf, '\n', chunk));
        if (nl) {
            keep = keep - chunk + static_cast<std::uint64_t>(nl - buf) + 1;
            break;
        }
        keep -= chunk;
    }
    if (keep != size) {
        if (::ftruncate(fd, static_cast<off_t>(keep)) != 0)
            return size;
        log::warn("events_torn_line_cut", {{"bytes", size - keep}});
    }
    return keep;
}

}  // namespace

std::string segment_name(std::uint64_t segment) {
    return fmt::format("events-{:012}.jsonl", segment);
}

std::vector<std::uint64_t> list_segments(const fs::path& dir) {
    std::vector<std::uint64_t> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        if (auto n = segment_of(entry.path().filename().string()))
            found.push_back(n);
    std::sort(found.begin(), found.end());
    return found;
}

read_result read_events(
    const fs::path& dir,
    position at,
    std::size_t max_lines,
    const std::function<bool(const event&)>& accept
) {
    read_result r;
    r.next = at;
    auto segments = list_segments(dir);
    // A position before the oldest segment (pruned, or a fresh log) starts at the oldest.
    if (!segments.empty() && r.next.segment < segments.front())
        r.next = {segments.front(), 0};
    // A filtered reader may pass over many events it does not want: one read scans at most this
    // much, so the event loop is never held long.
    constexpr std::uint64_t scan_budget = 4u << 20;
    std::uint64_t scanned = 0;
    while (r.lines.size() < max_lines && scanned < scan_budget) {
        std::ifstream in(dir / segment_name(r.next.segment), std::ios::binary);
        if (!in)
            break;
        in.seekg(static_cast<std::streamoff>(r.next.offset));
        auto later = std::upper_bound(segments.begin(), segments.end(), r.next.segment);
        std::string line;
        bool whole_file = true;
        while (r.lines.size() < max_lines && scanned < scan_budget && std::getline(in, line)) {
            if (in.eof()) {
                // No newline: a line being written, unless a later segment exists (then it is
                // a line a failed write left, damaged).
                if (later == segments.end()) {
                    whole_file = false;
                    break;
                }
                ++r.damaged;
                break;
            }
            scanned += line.size() + 1;
            r.next.offset += line.size() + 1;
            auto e = from_json(line);
            if (!e) {
                ++r.damaged;
                continue;
            }
            if (accept(*e))
                r.lines.push_back(std::move(line));
        }
        if (r.lines.size() >= max_lines || scanned >= scan_budget || !whole_file)
            break;
        // At the end of this segment: on to the next one, if there is one.
        if (later == segments.end())
            break;
        r.next = {*later, 0};
    }
    return r;
}

event_log::event_log(fs::path dir, std::uint64_t segment_limit)
    : dir_(std::move(dir)), segment_limit_(segment_limit) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec)
        throw std::runtime_error(fmt::format("{}: {}", dir_.string(), ec.message()));
    auto segments = list_segments(dir_);
    open_segment(segments.empty() ? 1 : segments.back());
    syncer_ = std::thread([this] { sync_loop(); });
}

event_log::~event_log() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    syncer_.join();
    if (fd_ >= 0) {
        ::fdatasync(fd_);
        ::close(fd_);
    }
    if (sync_fd_ >= 0)
        ::close(sync_fd_);
}

void event_log::open_segment(std::uint64_t segment) {
    auto path = dir_ / segment_name(segment);
    // Read and write: the torn tail is looked for with pread.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        throw std::runtime_error(fmt::format("{}: {}", path.string(), std::strerror(errno)));
    auto size = cut_torn_tail(fd);
    // The directory entry of a new segment must survive a power cut too.
    if (int d = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
        ::fsync(d);
        ::close(d);
    }
    int old = fd_;
    fd_ = fd;
    segment_ = segment;
    size_ = size;
    std::lock_guard lock(mutex_);
    if (old >= 0) {
        ::fdatasync(old);
        ::close(old);
    }
    if (sync_fd_ >= 0)
        ::close(sync_fd_);
    sync_fd_ = ::dup(fd_);
}

bool event_log::append(event e) {
    if (e.id.empty())
        e.id = new_event_id();
    if (e.at_ms == 0)
        e.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()
        )
                      .count();
    auto line = to_json(e);
    line += '\n';
    if (size_ >= segment_limit_) {
        try {
            open_segment(segment_ + 1);
        } catch (const std::exception& ex) {
            log::warn("events_rotate_failed", {{"error", ex.what()}});
        }
    }
    // O_APPEND and one write: the line lands whole, or (disk full) the tail is cut off again.
    auto n = ::write(fd_, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) {
        if (n > 0) [[maybe_unused]]
            auto ignored = ::ftruncate(fd_, static_cast<off_t>(size_));
        ++failed_;
        if (!said_failure_)
            log::error(
                "events_write_failed", {{"error", n < 0 ? std::strerror(errno) : "short write"},
                                        {"event", to_string(e.what)}}
            );
        said_failure_ = true;
        return false;
    }
    said_failure_ = false;
    size_ += line.size();
    ++appended_;
    dirty_ = true;
    for (const auto& f : on_append_)
        f();
    return true;
}

void event_log::sync_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, sync_interval, [this] { return stopping_; });
        if (sync_fd_ < 0 || !dirty_.exchange(false))
            continue;
        // The lock stays held: rotation waits for this sync rather than closing the file under
        // it (appends do not take the lock).
        if (::fdatasync(sync_fd_) != 0) {
            ++sync_failures_;
            if (sync_failures_ == 1)
                log::error("events_sync_failed", {{"error", std::strerror(errno)}});
        }
    }
}

void event_log::prune(std::chrono::seconds max_age, position keep_from) {
    auto now = fs::file_time_type::clock::now();
    for (auto segment : list_segments(dir_)) {
        if (segment >= segment_ || segment >= keep_from.segment)
            break;
        auto path = dir_ / segment_name(segment);
        std::error_code ec;
        auto written = fs::last_write_time(path, ec);
        if (ec || now - written < max_age)
            continue;
        if (fs::remove(path, ec))
            log::info("events_segment_removed", {{"segment", path.filename().string()}});
    }
}

}  // namespace outpost::events
