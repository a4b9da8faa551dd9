#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <doctest/doctest.h>

#include "core/spool/file_pool.hpp"
#include "core/spool/layout.hpp"
#include "core/spool/queue_id.hpp"
#include "core/spool/record.hpp"
#include "core/spool/space.hpp"
#include "core/spool/writer.hpp"

using namespace outpost;
namespace fs = std::filesystem;

namespace {

smtp::envelope sample_envelope() {
    smtp::envelope env;
    env.reverse_path = "app@example.com";
    env.recipients.push_back(
        {"bob@example.net", smtp::notify_success | smtp::notify_failure, "rfc822;bob@example.net"}
    );
    env.recipients.push_back({"\"john doe\"@example.org", 0, ""});
    env.ret = smtp::dsn_ret::headers;
    env.envid = "id 100%";
    env.client_address = "127.0.0.1";
    env.helo = "client.test";
    env.auth_user = "alice";
    env.protocol = "ESMTPSA";
    env.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
    return env;
}

struct temp_dir {
    fs::path path;

    temp_dir() {
        path = fs::temp_directory_path() / ("outpost-spool-test-" + spool::next_queue_id());
        fs::create_directories(path);
    }

    ~temp_dir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("an envelope survives the spool format, with appended results") {
    auto env = sample_envelope();
    std::string message = "Subject: x\r\n\r\nbody\r\nrcpt fake line\n";
    auto file =
        spool::format_envelope("0123456789ABCDEF", 1764000000, env, message.size()) + message;
    file += spool::format_result(
        {1, spool::recipient_result::kind::bounced, 1764000100, "550 5.1.1 no such user"}
    );
    auto rec = spool::parse(file);
    REQUIRE(rec);
    CHECK(rec->id == "0123456789ABCDEF");
    CHECK(rec->arrived == 1764000000);
    CHECK(rec->env.reverse_path == env.reverse_path);
    REQUIRE(rec->env.recipients.size() == 2);
    CHECK(rec->env.recipients[0].notify == (smtp::notify_success | smtp::notify_failure));
    CHECK(rec->env.recipients[0].orcpt == "rfc822;bob@example.net");
    CHECK(rec->env.recipients[1].address == "\"john doe\"@example.org");
    CHECK(rec->env.ret == smtp::dsn_ret::headers);
    CHECK(rec->env.envid == "id 100%");
    CHECK(rec->env.tls == env.tls);
    CHECK(file.substr(rec->message_offset, rec->size) == message);
    REQUIRE(rec->results.size() == 1);
    CHECK(rec->results[0].index == 1);
    CHECK(rec->results[0].reply == "550 5.1.1 no such user");
}

TEST_CASE("a damaged result line leaves its recipient pending, not the file unreadable") {
    auto env = sample_envelope();
    auto file = spool::format_envelope("0123456789ABCDEF", 1, env, 2) + "x\n";
    file += "delivedelivered 0 17 250\n";  // a partial append followed by a later one
    file += spool::format_result({1, spool::recipient_result::kind::delivered, 18, "250 ok"});
    auto rec = spool::parse(file);
    REQUIRE(rec);
    REQUIRE(rec->results.size() == 1);
    CHECK(rec->results[0].index == 1);
}

TEST_CASE("retry lines keep each deferral's attempts and next attempt; damaged ones are skipped") {
    auto env = sample_envelope();
    auto file = spool::format_envelope("0123456789ABCDEF", 1, env, 2) + "x\n";
    file += spool::format_retry({0, 1, 1000, "451 4.3.0 try later"});
    file += "retry 1 2\n";         // cut short by a crash
    file += "retry 7 1 1000 x\n";  // no such recipient
    file += spool::format_retry({0, 2, 2000, "421 4.7.0 slow down"});
    auto rec = spool::parse(file);
    REQUIRE(rec);
    CHECK(rec->results.empty());
    REQUIRE(rec->retries.size() == 2);
    CHECK(rec->retries[1].index == 0);
    CHECK(rec->retries[1].attempts == 2);
    CHECK(rec->retries[1].next_attempt == 2000);
    CHECK(rec->retries[1].reply == "421 4.7.0 slow down");
}

TEST_CASE("a null sender is kept as empty") {
    auto env = sample_envelope();
    env.reverse_path.clear();
    auto rec = spool::parse(spool::format_envelope("0123456789ABCDEF", 1, env, 0));
    REQUIRE(rec);
    CHECK(rec->env.reverse_path.empty());
}

TEST_CASE("damaged spool files are refused with a reason") {
    std::string error;
    CHECK_FALSE(spool::parse("hello\n", &error));
    CHECK(error == "not an outpost spool file");
    auto env = sample_envelope();
    auto file = spool::format_envelope("0123456789ABCDEF", 1, env, 100) + "short";
    CHECK_FALSE(spool::parse(file, &error));
    CHECK(error == "message is cut short");
    CHECK_FALSE(spool::percent_decode("%4"));
    CHECK(spool::percent_decode("%41%42") == "AB");
}

TEST_CASE("queue ids sort by time and are well formed") {
    auto a = spool::format_queue_id(1764000000000, 5);
    auto b = spool::format_queue_id(1764000000001, 0);
    CHECK(a < b);
    CHECK(spool::valid_queue_id(a));
    CHECK(spool::valid_queue_id(spool::next_queue_id()));
    CHECK_FALSE(spool::valid_queue_id("../etc/passwd"));
    CHECK(spool::next_queue_id() != spool::next_queue_id());
}

TEST_CASE("the writer makes files durable in queue/ and reports each completion") {
    temp_dir dir;
    spool::layout where{dir.path};
    spool::prepare(where);
    std::ofstream(where.tmp() / "leftover") << "x";
    spool::prepare(where);
    CHECK(fs::is_empty(where.tmp()));

    boost::asio::io_context io;
    spool::writer w(where, io.get_executor());
    int done = 0;
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) {
        auto id = spool::next_queue_id();
        ids.push_back(id);
        boost::asio::co_spawn(
            io,
            [&, id]() -> boost::asio::awaitable<void> {
                std::vector<std::string> pieces{"head\n", "", "body " + id};
                co_await w.async_write(id, std::move(pieces), boost::asio::use_awaitable);
                ++done;
            },
            boost::asio::detached
        );
    }
    io.run();
    CHECK(done == 20);
    CHECK(spool::list_queue(where) == ids);
    CHECK(slurp(where.message(ids[3])) == "head\nbody " + ids[3]);
    CHECK(fs::is_empty(where.tmp()));
    auto stats = w.stats();
    CHECK(stats.files == 20);
    CHECK(stats.batches >= 1);
    // How many batches 20 concurrent writes take depends on the disk thread's timing; that the
    // files are durable is what tests/reliability/t-60-powerloss checks.
}

TEST_CASE("a retired file is free to overwrite only after a directory fsync") {
    spool::file_pool pool;
    REQUIRE(pool.fits(5000));
    pool.retired("A", 5000);
    pool.retired("B", 100);
    // queue/ not yet fsynced since they left it: a power cut could bring their names back.
    CHECK(!pool.take());
    CHECK(pool.waiting_for_sync());
    pool.directory_synced();
    CHECK(!pool.waiting_for_sync());
    pool.retired("C", 10);  // after the fsync: waits for the next one
    CHECK(pool.take() == std::optional<std::string>("A"));
    CHECK(pool.take() == std::optional<std::string>("B"));
    CHECK(!pool.take());
    CHECK(pool.bytes() == 10);
    CHECK(pool.drain() == std::vector<std::string>{"C"});
    CHECK(pool.files() == 0);
    CHECK(pool.bytes() == 0);
}

TEST_CASE("the pool of retired files is bounded in files, bytes and file size") {
    spool::file_pool pool(spool::file_pool::limits{3, 1000, 400});
    CHECK(!pool.fits(401));  // too large to keep
    CHECK(pool.fits(400));
    pool.retired("a", 400);
    pool.retired("b", 400);
    CHECK(!pool.fits(201));  // would pass 1,000 bytes
    CHECK(pool.fits(200));
    pool.retired("c", 200);
    CHECK(!pool.fits(0));  // three files
    pool.directory_synced();
    CHECK(pool.take().has_value());
    CHECK(pool.fits(400));  // taken files leave the count and the bytes
    auto left = pool.drain();
    CHECK(left.size() == 2);
    CHECK(pool.fits(400));
}

namespace {

spool::layout prepared(spool::layout where) {
    spool::prepare(where);
    return where;
}

// A prepared spool in a folder of its own, with its writer (a doctest fixture).
struct open_spool {
    temp_dir dir;
    spool::layout where = prepared(spool::layout{dir.path});
    boost::asio::io_context io;
    spool::writer w{where, io.get_executor()};
};

// One writer operation, run to completion: start(handler) begins it; returns its error.
template <class Start>
std::error_code run_now(boost::asio::io_context& io, Start start) {
    std::error_code result = std::make_error_code(std::errc::interrupted);
    start([&](std::error_code ec) { result = ec; });
    io.restart();
    io.run();
    return result;
}

std::error_code write_now(
    boost::asio::io_context& io, spool::writer& w, const std::string& id, std::string bytes
) {
    return run_now(io, [&](auto handler) {
        w.async_write(id, std::vector<std::string>{std::move(bytes)}, std::move(handler));
    });
}

// Retirement completes nothing: wait for its effect on disk.
template <class Predicate>
bool eventually(Predicate done) {
    for (int i = 0; i < 500 && !done(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
}

}  // namespace

TEST_CASE_FIXTURE(
    open_spool, "a retired message's file is overwritten by a later message, cut to its length"
) {
    auto a = spool::next_queue_id();
    REQUIRE(!write_now(io, w, a, std::string(5000, 'a')));
    w.retire(a);
    REQUIRE(eventually([&] { return !fs::exists(where.message(a)); }));
    CHECK(fs::exists(where.tmp() / a));
    // With nothing behind it the writer fsyncs queue/ at once, so a's file is free now.
    auto b = spool::next_queue_id();
    REQUIRE(!write_now(io, w, b, "the new message"));
    CHECK(w.stats().reused == 1);
    CHECK(slurp(where.message(b)) == "the new message");  // nothing of a's longer bytes
    CHECK(fs::is_empty(where.tmp()));
    CHECK(spool::list_queue(where) == std::vector<std::string>{b});

    // Appends go to the reused file like to any other.
    CHECK(!run_now(io, [&](auto handler) { w.async_append(b, "\nresult", std::move(handler)); }));
    CHECK(slurp(where.message(b)) == "the new message\nresult");

    // A large message's file is deleted rather than kept.
    auto big = spool::next_queue_id();
    REQUIRE(!write_now(io, w, big, std::string(300 * 1024, 'x')));
    w.retire(big);
    REQUIRE(eventually([&] { return !fs::exists(where.message(big)); }));
    CHECK(!fs::exists(where.tmp() / big));

    // Low on space: the kept files go.
    auto c = spool::next_queue_id();
    REQUIRE(!write_now(io, w, c, "c"));
    w.retire(c);
    REQUIRE(eventually([&] { return fs::exists(where.tmp() / c); }));
    w.release_reusable();
    CHECK(eventually([&] { return fs::is_empty(where.tmp()); }));
    REQUIRE(!write_now(io, w, spool::next_queue_id(), "d"));
    CHECK(w.stats().reused == 1);
}

TEST_CASE_FIXTURE(
    open_spool, "a finished message leaves queue/ durably before async_retire completes"
) {
    auto retire_now = [&](const std::string& id) {
        return run_now(io, [&](auto handler) { w.async_retire(id, std::move(handler)); });
    };

    auto a = spool::next_queue_id();
    auto b = spool::next_queue_id();
    REQUIRE(!write_now(io, w, a, std::string(3000, 'a')));
    REQUIRE(!write_now(io, w, b, "b"));
    CHECK(!retire_now(a));
    // Gone from queue/ when the caller hears of it, not later: its leaving is the record.
    CHECK(spool::list_queue(where) == std::vector<std::string>{b});
    // Its file went to the pool, free at once (the same batch fsynced queue/), and the next new
    // message is written into it.
    auto c = spool::next_queue_id();
    REQUIRE(!write_now(io, w, c, "the next message"));
    CHECK(w.stats().reused == 1);
    CHECK(slurp(where.message(c)) == "the next message");
    CHECK(fs::is_empty(where.tmp()));

    // One deleted meanwhile: ENOENT, and nothing else is touched.
    CHECK(retire_now(spool::next_queue_id()) == std::errc::no_such_file_or_directory);
    CHECK(spool::list_queue(where) == std::vector<std::string>{b, c});

    // A large message's file is deleted rather than kept.
    auto big = spool::next_queue_id();
    REQUIRE(!write_now(io, w, big, std::string(300 * 1024, 'x')));
    CHECK(!retire_now(big));
    CHECK(!fs::exists(where.message(big)));
    CHECK(!fs::exists(where.tmp() / big));
}

TEST_CASE_FIXTURE(
    open_spool, "a write that cannot happen reports the error and leaves nothing behind"
) {
    auto id = spool::next_queue_id();
    std::ofstream(where.tmp() / id) << "taken";  // O_EXCL must refuse, never overwrite
    std::error_code result;
    w.async_write(id, std::vector<std::string>{"x"}, [&](std::error_code ec) { result = ec; });
    io.run();
    CHECK(result == std::errc::file_exists);
    CHECK(spool::list_queue(where).empty());

    w.stop();
    io.restart();
    w.async_write(spool::next_queue_id(), std::vector<std::string>{"x"}, [&](std::error_code ec) {
        result = ec;
    });
    io.run();
    CHECK(result == std::errc::operation_canceled);
}

TEST_CASE("a priority other than normal is kept in the spool; files without one are normal") {
    auto env = sample_envelope();
    auto plain = spool::parse(spool::format_envelope("0123456789ABCDEF", 1, env, 0));
    REQUIRE(plain);
    CHECK(plain->env.priority == "normal");
    env.priority = "high";
    auto text = spool::format_envelope("0123456789ABCDEF", 1, env, 0);
    CHECK(text.find("\npriority high\n") != std::string::npos);
    auto rec = spool::parse(text);
    REQUIRE(rec);
    CHECK(rec->env.priority == "high");
}

TEST_CASE("a free-space reading is reused only while recent and far above the reserve") {
    using namespace std::chrono_literals;
    constexpr std::uint64_t mb = 1 << 20;
    // Far above the reserve and a moment old: no need to ask the file system again.
    CHECK(spool::reading_still_good(10'000 * mb, 1ms, 100 * mb, 0));
    // Too old.
    CHECK_FALSE(spool::reading_still_good(10'000 * mb, 1s, 100 * mb, 0));
    // Near the reserve, or near it once the message is counted: always asked.
    CHECK_FALSE(spool::reading_still_good(110 * mb, 1ms, 100 * mb, 0));
    CHECK_FALSE(spool::reading_still_good(400 * mb, 1ms, 100 * mb, 200 * mb));
    // A clock that went backwards is not trusted.
    CHECK_FALSE(spool::reading_still_good(10'000 * mb, -1ms, 100 * mb, 0));
}

TEST_CASE("the space guard asks again once its reading is old or near the reserve") {
    using namespace std::chrono_literals;
    constexpr std::uint64_t mb = 1 << 20;
    auto now = std::chrono::steady_clock::time_point{} + 1h;
    std::uint64_t free = 10'000 * mb;
    int asked = 0;
    spool::space_guard guard(
        "/nonexistent", 100 * mb, [&] { return now; },
        [&]() -> std::optional<std::uint64_t> {
            ++asked;
            return free;
        }
    );
    CHECK_FALSE(guard.low());
    CHECK(asked == 1);
    // The disk fills within the reading's lifetime: the old reading answers, far from the reserve.
    free = 50 * mb;
    now += 10ms;
    CHECK_FALSE(guard.low());
    CHECK(asked == 1);
    // Once it is old, the disk is asked again, and it is low.
    now += 100ms;
    CHECK(guard.low());
    CHECK(asked == 2);
    // Near the reserve, every check asks, even a moment later.
    free = 10'000 * mb;
    now += 1ms;
    CHECK_FALSE(guard.low());
    CHECK(asked == 3);
    // A message too big for the margin left asks again.
    now += 1ms;
    CHECK_FALSE(guard.low(9'800 * mb));
    CHECK(asked == 4);
}

TEST_CASE("read_file returns a file's bytes exactly, whatever its size") {
    temp_dir dir;
    for (std::size_t size : {0u, 1u, 4095u, 4096u, 200'000u}) {
        std::string bytes;
        for (std::size_t i = 0; i < size; ++i)
            bytes += static_cast<char>(i * 7 % 256);
        auto p = dir.path / ("f" + std::to_string(size));
        std::ofstream(p, std::ios::binary) << bytes;
        auto back = spool::read_file(p);
        REQUIRE(back);
        CHECK(*back == bytes);
    }
    CHECK_FALSE(spool::read_file(dir.path / "missing"));
    CHECK_FALSE(spool::read_file(dir.path));  // a directory cannot be read
}

TEST_CASE("the queue listing names held messages from the same scan") {
    temp_dir dir;
    spool::layout where{dir.path};
    spool::prepare(where);
    auto a = spool::next_queue_id(), b = spool::next_queue_id(), c = spool::next_queue_id();
    for (const auto& id : {a, b, c})
        std::ofstream(where.message(id)) << "x";
    std::ofstream(where.hold_marker(b));
    std::ofstream(where.queue() / "not-a-queue-id.hold");
    std::set<std::string> held;
    CHECK(spool::list_queue(where, &held) == std::vector<std::string>{a, b, c});
    CHECK(held.count(b) == 1);
    CHECK(held.count(a) == 0);
    CHECK(spool::list_queue(where) == std::vector<std::string>{a, b, c});
}
