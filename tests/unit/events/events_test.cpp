// The event log (segments, torn and damaged lines, positions), events as JSON, and the pure parts
// of webhooks: signatures, batches, retry pauses, cursor files.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <unistd.h>

#include "config/http_url.hpp"
#include "core/events/event.hpp"
#include "core/events/event_log.hpp"
#include "core/events/webhook.hpp"

using namespace outpost;
using namespace outpost::events;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
    fs::path path = fs::temp_directory_path() /
                    ("outpost-events-" + std::to_string(::getpid()) + "-" +
                     std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));

    ~temp_dir() { fs::remove_all(path); }
};

event delivered_to(const std::string& rcpt) {
    event e;
    e.what = kind::delivered;
    e.queue_id = "1A2B3C4D5E6F7081";
    e.recipient = rcpt;
    return e;
}

const auto everything = [](const event&) { return true; };

}  // namespace

TEST_CASE("an event goes to JSON and back whole; empty fields are left out") {
    event e = delivered_to("a\"b@example.org");
    e.id = new_event_id();
    e.at_ms = 1764000000123;
    e.message_id = "<x@y>";
    e.tags = {"order-42", "c\\d"};
    e.attempt = 2;
    e.next_attempt = 1764000600;
    e.reply_code = 250;
    auto line = to_json(e);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find("\"auth_user\"") == std::string::npos);
    CHECK(line.find("\"sender\":\"\"") != std::string::npos);  // the null sender is said
    auto back = from_json(line);
    REQUIRE(back);
    CHECK(back->id == e.id);
    CHECK(back->what == kind::delivered);
    CHECK(back->at_ms == e.at_ms);
    CHECK(back->recipient == e.recipient);
    CHECK(back->tags == e.tags);
    CHECK(back->attempt == 2);
    CHECK(back->next_attempt == e.next_attempt);
    CHECK(back->reply_code == 250);
    CHECK(e.id.size() == 32);
    CHECK(new_event_id() != e.id);
    CHECK_FALSE(from_json("{\"id\":\"x\",\"event\":\"nonsense\",\"at_ms\":1}"));
    CHECK_FALSE(from_json("not json"));
}

TEST_CASE("the log: appended lines are read back in order across segments from a position") {
    temp_dir d;
    {
        event_log log(d.path, 200);  // tiny segments: a new one every line or two
        for (int i = 0; i < 7; ++i)
            REQUIRE(log.append(delivered_to(std::to_string(i) + "@example.org")));
        CHECK(log.appended() == 7);
    }
    CHECK(list_segments(d.path).size() > 2);
    auto all = read_events(d.path, {}, 100, everything);
    REQUIRE(all.lines.size() == 7);
    CHECK(from_json(all.lines[6])->recipient == "6@example.org");
    // From the middle: a position taken after three lines gives the other four.
    auto first = read_events(d.path, {}, 3, everything);
    REQUIRE(first.lines.size() == 3);
    auto rest = read_events(d.path, first.next, 100, everything);
    REQUIRE(rest.lines.size() == 4);
    CHECK(from_json(rest.lines[0])->recipient == "3@example.org");
    // At the end: nothing, and the position stays.
    auto none = read_events(d.path, all.next, 100, everything);
    CHECK(none.lines.empty());
    CHECK(none.next == all.next);
    // A filter passes events over but moves the position past them.
    auto some =
        read_events(d.path, {}, 100, [](const event& e) { return e.recipient == "5@example.org"; });
    CHECK(some.lines.size() == 1);
    CHECK(some.next == all.next);
}

TEST_CASE("the log: a torn last line is cut off at open; a damaged line loses only itself") {
    temp_dir d;
    {
        event_log log(d.path);
        log.append(delivered_to("a@example.org"));
        log.append(delivered_to("b@example.org"));
    }
    auto segment = d.path / segment_name(list_segments(d.path).back());
    {
        // A line damaged in the middle, and a torn one at the end (a crash mid-write).
        std::ofstream out(segment, std::ios::app | std::ios::binary);
        auto c = delivered_to("c@example.org");
        c.id = new_event_id();
        c.at_ms = 1;
        out << "{\"garbage\n" << to_json(c) << "\n{\"id\":\"torn";
    }
    auto before = read_events(d.path, {}, 100, everything);
    CHECK(before.lines.size() == 3);  // the torn line is not read: it has no newline
    CHECK(before.damaged == 1);
    {
        event_log log(d.path);
        log.append(delivered_to("d@example.org"));
    }
    auto after = read_events(d.path, {}, 100, everything);
    REQUIRE(after.lines.size() == 4);
    CHECK(from_json(after.lines[3])->recipient == "d@example.org");
}

TEST_CASE("the log: pruning keeps what a reader has not passed and the segment being written") {
    temp_dir d;
    event_log log(d.path, 100);
    for (int i = 0; i < 4; ++i)
        log.append(delivered_to(std::to_string(i) + "@example.org"));
    auto segments = list_segments(d.path);
    REQUIRE(segments.size() >= 3);
    log.prune(std::chrono::seconds(0), {segments[1], 0});
    auto left = list_segments(d.path);
    CHECK(left.front() == segments[1]);
    log.prune(std::chrono::seconds(0), log.end());
    CHECK(list_segments(d.path) == std::vector<std::uint64_t>{segments.back()});
    log.prune(std::chrono::hours(1), log.end());  // too young: nothing more
    CHECK(list_segments(d.path).size() == 1);
}

TEST_CASE("webhook signature: HMAC-SHA256 of time.body, in hex") {
    auto s = signature("whsec-0123456789", 1700000000, "[{\"id\":\"a\"}]");
    CHECK(s.starts_with("t=1700000000,v1="));
    CHECK(s.size() == 16 + 64);
    CHECK(s != signature("whsec-0123456789", 1700000001, "[{\"id\":\"a\"}]"));
    CHECK(s != signature("whsec-0123456780", 1700000000, "[{\"id\":\"a\"}]"));
    // Known answer, from Python: hmac.new(b"key", b"0.The quick...", hashlib.sha256).
    CHECK(
        signature("key", 0, "The quick brown fox jumps over the lazy dog") ==
        "t=0,v1=8511f28f7a1949f0c42772b447d68b2daf760f5f0439a20a17e3b4e7cd395763"
    );
}

TEST_CASE("webhook batches, pauses and cursors") {
    CHECK(batch_body({}) == "[]");
    CHECK(batch_body({"{\"a\":1}", "{\"b\":2}"}) == "[{\"a\":1},{\"b\":2}]");
    CHECK(retry_delay(1) == std::chrono::seconds(1));
    CHECK(retry_delay(2) == std::chrono::seconds(2));
    CHECK(retry_delay(5) == std::chrono::seconds(16));
    CHECK(retry_delay(30) == std::chrono::seconds(300));
    auto p = parse_cursor(format_cursor({3, 12345}));
    REQUIRE(p);
    CHECK(*p == position{3, 12345});
    CHECK_FALSE(parse_cursor(""));
    CHECK_FALSE(parse_cursor("3"));
    CHECK_FALSE(parse_cursor("3 x"));
    CHECK_FALSE(parse_cursor("-1 2"));
}

TEST_CASE("webhook URLs: https anywhere, http only to loopback, no user information") {
    auto a = config::parse_http_url("https://hooks.example.com/outpost/events?x=1");
    REQUIRE(a.address);
    CHECK(a.address->tls);
    CHECK(a.address->host == "hooks.example.com");
    CHECK(a.address->port == 443);
    CHECK(a.address->target == "/outpost/events?x=1");
    auto v6 = config::parse_http_url("https://[::1]:8443");
    REQUIRE(v6.address);
    CHECK(v6.address->host == "::1");
    CHECK(v6.address->port == 8443);
    CHECK(v6.address->target == "/");
    CHECK(config::parse_http_url("http://127.0.0.1:8080/hook").address);
    CHECK(config::parse_http_url("http://localhost/hook").address);
    CHECK_FALSE(config::parse_http_url("http://hooks.example.com/hook").address);
    CHECK_FALSE(config::parse_http_url("https://user:pw@hooks.example.com/").address);
    CHECK_FALSE(config::parse_http_url("ftp://hooks.example.com/").address);
    CHECK_FALSE(config::parse_http_url("hooks.example.com/hook").address);
    CHECK_FALSE(config::parse_http_url("https://hooks.example.com/#frag").address);
}

TEST_CASE("invalid UTF-8 from the network does not lose the event") {
    event e = delivered_to("a@example.org");
    e.id = new_event_id();
    e.at_ms = 1;
    e.reply = "550 Benutzer unbekannt: M\xfcller \xe2\x82";  // Latin-1, then a cut sequence
    auto back = from_json(to_json(e));
    REQUIRE(back);
    CHECK(back->reply == "550 Benutzer unbekannt: M\xEF\xBF\xBDller \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("the log: a line a failed write left in an older segment is skipped, not waited for") {
    temp_dir d;
    {
        event_log log(d.path, 10);  // every append starts a new segment
        log.append(delivered_to("a@example.org"));
        log.append(delivered_to("b@example.org"));
    }
    auto segments = list_segments(d.path);
    REQUIRE(segments.size() == 2);
    std::ofstream(d.path / segment_name(segments[0]), std::ios::app) << "{\"id\":\"half";
    auto r = read_events(d.path, {}, 100, everything);
    REQUIRE(r.lines.size() == 2);
    CHECK(r.damaged == 1);
    CHECK(from_json(r.lines[1])->recipient == "b@example.org");
}

TEST_CASE("event ids are 32 hex digits and do not repeat, across refills of the random pool") {
    std::set<std::string> seen;
    for (int i = 0; i < 2000; ++i) {
        auto id = new_event_id();
        REQUIRE(id.size() == 32);
        REQUIRE(id.find_first_not_of("0123456789abcdef") == std::string::npos);
        REQUIRE(seen.insert(id).second);
    }
}
