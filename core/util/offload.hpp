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
    co_return co_await boost::asio::co_spawn(
        pool,
        [fn = std::move(fn)]() mutable -> boost::asio::awaitable<std::invoke_result_t<F>> {
            co_return fn();
        },
        boost::asio::use_awaitable
    );
}

}  // namespace outpost::util
