// Runs CPU-bound or blocking work on a thread pool and resumes on the caller's executor.
#pragma once

#include <type_traits>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace outpost::util {

// Runs fn on pool; the awaiting coroutine resumes on its own executor. An exception thrown by fn
// is rethrown in the awaiting coroutine.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F>> offload(boost::asio::thread_pool& pool, F fn) {
    // GCC 12 destroys non-trivial lambda captures twice when the lambda is a temporary in a
    // co_await expression (seen as a double free). Capture by reference: the awaiting coroutine's
    // frame keeps the referenced objects alive until fn has run.
    static_assert(std::is_trivially_destructible_v<F>, "offload: capture by reference only");
    // A named local, not a temporary inside the co_await expression: GCC 12 mishandles the
    // lifetime of non-trivial temporaries across a suspension (double destruction).
    auto task = [fn = std::move(fn)]() mutable -> boost::asio::awaitable<std::invoke_result_t<F>> {
        co_return fn();
    };
    auto running = boost::asio::co_spawn(pool, std::move(task), boost::asio::use_awaitable);
    co_return co_await std::move(running);
}

}  // namespace outpost::util
