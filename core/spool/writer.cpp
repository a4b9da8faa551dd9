#include "core/spool/writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/spool/space.hpp"
#include "core/util/log.hpp"

namespace outpost::spool {

namespace {

std::error_code last_error() {
    return {errno, std::system_category()};
}

// Writes all pieces with writev, resuming after short writes and EINTR.
std::error_code write_all(int fd, const std::vector<std::string>& pieces) {
    std::vector<iovec> iov;
    iov.reserve(pieces.size());
    for (const auto& p : pieces)
        if (!p.empty())
            iov.push_back({const_cast<char*>(p.data()), p.size()});
    std::size_t first = 0;
    while (first < iov.size()) {
        auto count = static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX));
        auto n = ::writev(fd, iov.data() + first, count);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return last_error();
        }
        auto left = static_cast<std::size_t>(n);
        while (first < iov.size() && left >= iov[first].iov_len)
            left -= iov[first++].iov_len;
        if (left > 0) {
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
    }
    return {};
}

std::size_t total_size(const std::vector<std::string>& pieces) {
    std::size_t n = 0;
    for (const auto& p : pieces)
        n += p.size();
    return n;
}

// rename(2) that fails with EEXIST instead of replacing what is there.
int rename_new(const std::filesystem::path& from, const std::filesystem::path& to) {
    return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
}

}  // namespace

// New messages and appends; retirements write nothing.
std::size_t writer::writes_in(const std::vector<job>& batch) {
    return static_cast<std::size_t>(std::count_if(batch.begin(), batch.end(), [](const job& j) {
        return j.op == operation::create || j.op == operation::append;
    }));
}

// The file a job writes: queue/<id> for an append; for a new message tmp/<id>, made by renaming
// a retired file when there is one, else created.
int writer::open_for(job& j) {
    if (j.op == operation::append)
        return ::open(where_.message(j.id).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    auto tmp = where_.tmp() / j.id;
    while (auto name = pool_.take()) {
        auto old = where_.tmp() / *name;
        if (rename_new(old, tmp) != 0) {
            ::unlink(old.c_str());
            continue;
        }
        int fd = ::open(tmp.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            j.reused = true;
            return fd;
        }
        ::unlink(tmp.c_str());
    }
    return ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

void writer::retire_files(const std::vector<job>& batch) {
    bool kept = false;
    for (const auto& j : batch) {
        if (j.op != operation::retire)
            continue;
        auto from = where_.message(j.id);

        struct stat st {};

        // Two deliveries of one message may both have seen it complete: the first retires it.
        if (::stat(from.c_str(), &st) != 0)
            continue;
        log::info("message_done", {{"queue_id", j.id}});
        bool keep = pool_.fits(static_cast<std::uint64_t>(st.st_size));
        if (keep && rename_new(from, where_.tmp() / j.id) == 0) {
            pool_.retired(j.id, static_cast<std::uint64_t>(st.st_size));
            kept = true;
        } else {
            ::unlink(from.c_str());
        }
    }
    // Under load the next batch's fsync of queue/ makes these reusable; with nothing behind
    // this batch, one fsync now does, rather than leaving them to wait for the next message.
    if (kept && idle())
        promote_retired();
}

// A finished message's file moves to tmp/ under its own name before the batch's directory fsyncs;
// keep_finished() then gives it to the pool, or deletes it when the pool has no room.
bool writer::move_finished(job& j) {
    auto from = where_.message(j.id);

    struct stat st {};

    if (::stat(from.c_str(), &st) != 0 || rename_new(from, where_.tmp() / j.id) != 0) {
        j.result = last_error();
        return false;
    }
    j.size = static_cast<std::uint64_t>(st.st_size);
    return true;
}

void writer::keep_finished(const job& j) {
    log::info("message_done", {{"queue_id", j.id}});
    if (pool_.fits(j.size))
        pool_.retired(j.id, j.size);
    else
        ::unlink((where_.tmp() / j.id).c_str());
}

void writer::promote_retired() {
    if (pool_.waiting_for_sync() && ::fsync(queue_dir_fd_) == 0)
        pool_.directory_synced();
}

void writer::delete_pool() {
    for (const auto& name : pool_.drain())
        ::unlink((where_.tmp() / name).c_str());
}

bool writer::idle() const {
    std::lock_guard lock(mutex_);
    return pending_.empty();
}

void writer::release_reusable() {
    {
        std::lock_guard lock(mutex_);
        release_requested_ = true;
    }
    wake_.notify_one();
}

writer::writer(layout where, boost::asio::any_io_executor fallback)
    : where_(std::move(where)), fallback_(std::move(fallback)) {
    queue_dir_fd_ = ::open(where_.queue().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (queue_dir_fd_ < 0)
        throw std::system_error(last_error(), "open " + where_.queue().string());
    tmp_dir_fd_ = ::open(where_.tmp().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tmp_dir_fd_ < 0) {
        auto ec = last_error();
        ::close(queue_dir_fd_);
        throw std::system_error(ec, "open " + where_.tmp().string());
    }
    thread_ = std::thread([this] { run(); });
}

writer::~writer() {
    stop();
    if (queue_dir_fd_ >= 0)
        ::close(queue_dir_fd_);
    if (tmp_dir_fd_ >= 0)
        ::close(tmp_dir_fd_);
}

void writer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

writer_stats writer::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void writer::submit(
    operation op,
    std::string id,
    std::vector<std::string> pieces,
    boost::asio::any_io_executor ex,
    boost::asio::any_completion_handler<void(std::error_code)> handler
) {
    auto work = boost::asio::prefer(ex, boost::asio::execution::outstanding_work.tracked);
    job j{op, std::move(id), std::move(pieces), std::move(handler), std::move(work), {}};
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            pending_.push_back(std::move(j));
            wake_.notify_one();
            return;
        }
    }
    j.result = std::make_error_code(std::errc::operation_canceled);
    complete(j);
}

void writer::retire(std::string id) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            pending_.push_back(job{operation::retire, std::move(id), {}, {}, {}, {}});
            wake_.notify_one();
            return;
        }
    }
    ::unlink(where_.message(id).c_str());
}

void writer::complete(job& j) {
    if (j.op == operation::retire)
        return;
    auto ex = j.work;
    boost::asio::post(
        ex, [h = std::move(j.handler), ec = j.result,
             w = std::move(j.work)]() mutable { std::move(h)(ec); }
    );
}

void writer::run() {
    std::vector<job> batch;
    for (;;) {
        bool release = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || release_requested_ || !pending_.empty(); });
            release = std::exchange(release_requested_, false);
            if (pending_.empty() && !release)
                return;  // stopping, and everything handed in is done
            batch.clear();
            while (!pending_.empty()) {
                batch.push_back(std::move(pending_.front()));
                pending_.pop_front();
            }
        }
        if (release)
            delete_pool();
        write_batch(batch);
        retire_files(batch);
        // A full disk: the pool's files are space the next write may need.
        if (std::any_of(batch.begin(), batch.end(), [](const job& j) {
                return disk_full(j.result);
            }))
            delete_pool();
        auto written = static_cast<std::uint64_t>(writes_in(batch));
        {
            std::lock_guard lock(mutex_);
            stats_.files += written;
            stats_.reused += static_cast<std::uint64_t>(
                std::count_if(batch.begin(), batch.end(), [](const job& j) { return j.reused; })
            );
            if (written > 0) {
                stats_.batches += 1;
                stats_.largest_batch = std::max(stats_.largest_batch, written);
            }
        }
        for (auto& j : batch)
            complete(j);
    }
}

void writer::write_batch(std::vector<job>& batch) {
    // Phase 1: every file written and its data durable in tmp/. One file is fdatasynced; a batch
    // is made durable with one syncfs(2) (one journal commit for all of them, instead of one per
    // file) and one disk cache flush after it.
    std::vector<int> fds(batch.size(), -1);
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& j = batch[i];
        if (j.op != operation::create && j.op != operation::append)
            continue;
        bool append = j.op == operation::append;
        fds[i] = open_for(j);
        if (fds[i] < 0) {
            j.result = last_error();
            continue;
        }

        struct stat before {};

        if (append && ::fstat(fds[i], &before) != 0)
            j.result = last_error();
        if (!j.result)
            j.result = write_all(fds[i], j.pieces);
        // A reused file is cut to the new message; its old bytes past the end go with it.
        if (!j.result && j.reused && ::ftruncate(fds[i], static_cast<off_t>(total_size(j.pieces))))
            j.result = last_error();
        // A failed append is taken back, so no partial line is left for a later one to follow.
        if (j.result && append) [[maybe_unused]]
            auto undone = ::ftruncate(fds[i], before.st_size);
    }
    // After a syncfs every file's data is written; sync_file_range then finds nothing left to
    // write but reports each file's own writeback error, as fdatasync would, without a cache
    // flush of the disk per file. The last file's fdatasync is the one flush that makes what
    // syncfs wrote last (ext4 without a journal writes inode blocks after its own flush) durable;
    // when it fails, nothing that counted on it is acknowledged.
    bool synced_all = writes_in(batch) > 1 && ::syncfs(queue_dir_fd_) == 0;
    std::size_t last = batch.size();
    for (std::size_t i = 0; i < batch.size(); ++i)
        if (fds[i] >= 0 && !batch[i].result)
            last = i;
    std::vector<std::size_t> flushed_by_last;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& j = batch[i];
        if (fds[i] < 0 || j.result)
            continue;
        int rc = 0;
        if (synced_all && i != last) {
            rc = ::sync_file_range(
                fds[i], 0, 0,
                SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER
            );
            flushed_by_last.push_back(i);
        } else {
            rc = ::fdatasync(fds[i]);
        }
        if (rc != 0)
            j.result = last_error();
    }
    if (last < batch.size() && batch[last].result)
        for (auto i : flushed_by_last)
            if (!batch[i].result)
                batch[i].result = batch[last].result;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (fds[i] < 0)
            continue;
        ::close(fds[i]);
        if (batch[i].result && batch[i].op == operation::create)
            ::unlink((where_.tmp() / batch[i].id).c_str());
    }
    // Phase 2: renamed into queue/ (finished messages out of it), then one fsync makes every
    // rename durable.
    bool renamed = false;
    bool finished = false;
    for (auto& j : batch) {
        if (j.op == operation::finish)
            finished = move_finished(j) || finished;
        if (j.result || j.op != operation::create)
            continue;
        auto tmp = where_.tmp() / j.id;
        if (::rename(tmp.c_str(), where_.message(j.id).c_str()) != 0) {
            j.result = last_error();
            ::unlink(tmp.c_str());
        } else {
            renamed = true;
        }
        j.pieces.clear();
        j.pieces.shrink_to_fit();
    }
    // tmp/ first: a name a file had there (its own, or a retired message's it was written into)
    // must not outlive a power cut beside its new name in queue/, where emptying tmp/ at start
    // would free the file under the queued message (ext4 without a journal has no fsck-free
    // guarantee against that).
    bool changed = renamed || finished;
    bool synced = changed && ::fsync(tmp_dir_fd_) == 0 && ::fsync(queue_dir_fd_) == 0;
    if (synced) {
        for (const auto& j : batch)
            if (!j.result && j.op == operation::finish)
                keep_finished(j);
        // Files retired before this fsync (retire_files runs after a batch's writes, on this
        // thread) are durably out of queue/ now.
        pool_.directory_synced();
    } else {
        auto ec = last_error();
        if (!changed)
            return;
        log::error("spool_fsync_failed", {{"error", ec.message()}});
        // The renames may not be durable: do not acknowledge, and take the files back, so that a
        // message the client was told to retry is not also delivered, and a finished one keeps
        // its place in queue/ (its caller records its results instead).
        for (auto& j : batch) {
            if (j.result)
                continue;
            if (j.op == operation::create) {
                j.result = ec;
                ::unlink(where_.message(j.id).c_str());
            } else if (j.op == operation::finish) {
                // Should this fail too, the message stays out of queue/ (a later fsync makes
                // that durable), and its file waits in the pool for that fsync.
                if (::rename((where_.tmp() / j.id).c_str(), where_.message(j.id).c_str()) == 0)
                    j.result = ec;
                else
                    keep_finished(j);
            }
        }
    }
}

}  // namespace outpost::spool
