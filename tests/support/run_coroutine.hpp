// Runs one coroutine to completion on a fresh io_context, for unit tests of awaitable code.
#pragma once

#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace outpost::test {

// The coroutine's result; an exception it throws is rethrown here.
template <class T>
T run(boost::asio::awaitable<T> a) {
    boost::asio::io_context ctx;
    std::optional<T> out;
    std::exception_ptr error;
    boost::asio::co_spawn(ctx, std::move(a), [&](std::exception_ptr e, T value) {
        error = e;
        out = std::move(value);
    });
    ctx.run();
    if (error)
        std::rethrow_exception(error);
    return std::move(*out);
}

}  // namespace outpost::test
