#include "core/spool/writer.hpp"

#include <cerrno>
#include <system_error>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

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

}  // namespace

writer::writer(layout where, boost::asio::any_io_executor fallback)
    : where_(std::move(where)), fallback_(std::move(fallback)) {
    queue_dir_fd_ = ::open(where_.queue().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (queue_dir_fd_ < 0)
        throw std::system_error(last_error(), "open " + where_.queue().string());
    thread_ = std::thread([this] { run(); });
}

writer::~writer() {
    stop();
    if (queue_dir_fd_ >= 0)
        ::close(queue_dir_fd_);
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
    bool append,
    std::string id,
    std::vector<std::string> pieces,
    boost::asio::any_io_executor ex,
    boost::asio::any_completion_handler<void(std::error_code)> handler
) {
    auto work = boost::asio::prefer(ex, boost::asio::execution::outstanding_work.tracked);
    job j{append, std::move(id), std::move(pieces), std::move(handler), std::move(work), {}};
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

void writer::complete(job& j) {
    auto ex = j.work;
    boost::asio::post(
        ex, [h = std::move(j.handler), ec = j.result,
             w = std::move(j.work)]() mutable { std::move(h)(ec); }
    );
}

void writer::run() {
    std::vector<job> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
            if (pending_.empty())
                return;  // stopping, and everything handed in is done
            batch.clear();
            while (!pending_.empty()) {
                batch.push_back(std::move(pending_.front()));
                pending_.pop_front();
            }
        }
        write_batch(batch);
        {
            std::lock_guard lock(mutex_);
            stats_.files += batch.size();
            stats_.batches += 1;
            stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, batch.size());
        }
        for (auto& j : batch)
            complete(j);
    }
}

void writer::write_batch(std::vector<job>& batch) {
    // Phase 1: every file written and its data durable in tmp/. One file is fdatasynced; a batch
    // is made durable with one syncfs(2) (one journal commit for all of them, instead of one per
    // file), and each file's fdatasync after it then finds nothing left to write but still
    // reports a writeback error of its own.
    std::vector<int> fds(batch.size(), -1);
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& j = batch[i];
        auto tmp = where_.tmp() / j.id;
        fds[i] = j.append ? ::open(where_.message(j.id).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC)
                          : ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fds[i] < 0) {
            j.result = last_error();
            continue;
        }

        struct stat before {};

        if (j.append && ::fstat(fds[i], &before) != 0)
            j.result = last_error();
        if (!j.result)
            j.result = write_all(fds[i], j.pieces);
        // A failed append is taken back, so no partial line is left for a later one to follow.
        if (j.result && j.append) [[maybe_unused]]
            auto undone = ::ftruncate(fds[i], before.st_size);
    }
    if (batch.size() > 1)
        ::syncfs(queue_dir_fd_);  // errors surface through the fdatasync calls below
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& j = batch[i];
        if (fds[i] < 0)
            continue;
        if (!j.result && ::fdatasync(fds[i]) != 0)
            j.result = last_error();
        ::close(fds[i]);
        if (j.result && !j.append)
            ::unlink((where_.tmp() / j.id).c_str());
    }
    // Phase 2: renamed into queue/, then one fsync makes every rename durable.
    bool renamed = false;
    for (auto& j : batch) {
        if (j.result || j.append)
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
    if (renamed && ::fsync(queue_dir_fd_) != 0) {
        auto ec = last_error();
        log::error("spool_fsync_failed", {{"error", ec.message()}});
        // The renames may not be durable: do not acknowledge, and take the files back, so that a
        // message the client was told to retry is not also delivered.
        for (auto& j : batch)
            if (!j.result && !j.append) {
                j.result = ec;
                ::unlink(where_.message(j.id).c_str());
            }
    }
}

}  // namespace outpost::spool
