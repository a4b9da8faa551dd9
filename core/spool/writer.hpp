// Group commit: messages handed in from the I/O thread are written by one disk thread in batches.
// A batch writes every file to tmp/, fdatasyncs each, renames them into queue/ (and finished
// messages out of it) and fsyncs the directory once; only then does each caller's completion run
// (and the client get its 250).
// Under load a batch holds every message that arrived while the previous batch was syncing, so the
// cost of the directory fsync is shared.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>

#include "core/spool/file_pool.hpp"
#include "core/spool/layout.hpp"

namespace outpost::spool {

struct writer_stats {
    std::uint64_t files = 0;
    std::uint64_t batches = 0;
    std::uint64_t largest_batch = 0;
    std::uint64_t reused = 0;  // new messages written into a retired message's file
};

class writer {
public:
    // Starts the disk thread. Completions are posted to their handler's associated executor, or
    // to fallback when a handler has none.
    writer(layout where, boost::asio::any_io_executor fallback);
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    // Writes pieces, concatenated, as queue/<id>. Completes with an empty error_code once the file
    // is durable; ENOSPC/EDQUOT mean the disk is full. The pieces are moved in: no copy.
    template <class Token>
    auto async_write(std::string id, std::vector<std::string> pieces, Token&& token) {
        return initiate(
            operation::create, std::move(id), std::move(pieces), std::forward<Token>(token)
        );
    }

    // Appends bytes to the existing queue/<id> (delivery results) and makes them durable, in the
    // same batches as new files, so concurrent deliveries share one sync.
    template <class Token>
    auto async_append(std::string id, std::string bytes, Token&& token) {
        std::vector<std::string> pieces;
        pieces.push_back(std::move(bytes));
        return initiate(
            operation::append, std::move(id), std::move(pieces), std::forward<Token>(token)
        );
    }

    // Takes a message whose every recipient is final out of queue/ in the same batches as new
    // files, and completes once its leaving is durable: for a delivery that settles the message,
    // its leaving is the record of it, in place of results appended and the file retired after.
    // Completes with ENOENT when the message is not in queue/ (deleted meanwhile). The file is
    // kept for reuse like a retired one.
    template <class Token>
    auto async_retire(std::string id, Token&& token) {
        return initiate(operation::finish, std::move(id), {}, std::forward<Token>(token));
    }

    // Takes a finished message out of queue/, after the writes handed in before it. Its file is
    // not deleted but kept in tmp/ (file_pool.hpp) for a later new message to overwrite:
    // creating and deleting a file per message was the spool's largest cost (an inode allocated
    // and freed for each, and ext4 without a journal scans past every inode freed in the last
    // minutes to find one). A crash loses nothing: tmp/ is emptied at start, and a message whose
    // rename had not happened is still in queue/ with every recipient final, which recovery
    // removes.
    void retire(std::string id);

    // Deletes the retired files kept for reuse (soon, on the disk thread): for when the spool's
    // file system runs low, so that they never hold space that new mail is refused for.
    void release_reusable();

    // Finishes what was handed in, then stops the thread. Later writes fail with ECANCELED.
    void stop();

    writer_stats stats() const;

private:
    // finish: async_retire; retire: retire(), which nobody waits for.
    enum class operation { create, append, finish, retire };

    template <class Token>
    auto initiate(operation op, std::string id, std::vector<std::string> pieces, Token&& token) {
        return boost::asio::async_initiate<Token, void(std::error_code)>(
            [this, op](auto handler, std::string name, std::vector<std::string> bytes) {
                boost::asio::any_io_executor ex =
                    boost::asio::get_associated_executor(handler, fallback_);
                submit(
                    op, std::move(name), std::move(bytes), std::move(ex),
                    boost::asio::any_completion_handler<void(std::error_code)>(std::move(handler))
                );
            },
            token, std::move(id), std::move(pieces)
        );
    }

    struct job {
        operation op = operation::create;
        std::string id;
        std::vector<std::string> pieces;
        boost::asio::any_completion_handler<void(std::error_code)> handler;
        boost::asio::any_io_executor work;  // the handler's executor, tracking work until done
        std::error_code result;
        bool reused = false;     // written into a retired message's file
        std::uint64_t size = 0;  // finish: the file's size, for the pool
    };

    void submit(
        operation op,
        std::string id,
        std::vector<std::string> pieces,
        boost::asio::any_io_executor ex,
        boost::asio::any_completion_handler<void(std::error_code)> handler
    );
    void run();
    void write_batch(std::vector<job>& batch);
    static std::size_t writes_in(const std::vector<job>& batch);
    int open_for(job& j);
    void retire_files(const std::vector<job>& batch);
    bool move_finished(job& j);
    void keep_finished(const job& j);
    void complete(job& j);

    layout where_;
    boost::asio::any_io_executor fallback_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<job> pending_;
    bool stopping_ = false;
    writer_stats stats_;
    int queue_dir_fd_ = -1;
    void promote_retired();
    void delete_pool();
    bool idle() const;

    file_pool pool_;                  // retired files in tmp/; disk thread only
    bool release_requested_ = false;  // under mutex_
    int tmp_dir_fd_ = -1;
    std::thread thread_;
};

}  // namespace outpost::spool
