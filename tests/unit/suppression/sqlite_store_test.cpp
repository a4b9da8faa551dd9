// The SQLite suppression store: add, lookup, remove, list, durability across reopen.
#include "core/suppression/sqlite_store.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <unistd.h>

using namespace outpost::suppression;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed when the test passes.
struct temp_dir {
    fs::path path;

    temp_dir() {
        path = fs::temp_directory_path() /
               ("outpost-suppression-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(path);
    }

    ~temp_dir() { fs::remove_all(path); }

    std::string db() const { return (path / sqlite_store::default_file).string(); }
};

entry make(std::string address, std::string reason, std::int64_t when) {
    entry e;
    e.address = std::move(address);
    e.reason = std::move(reason);
    e.status = "5.1.1";
    e.origin = source::dsn;
    e.first_seen = when;
    e.last_seen = when;
    e.message_id = "Q1";
    return e;
}

}  // namespace

TEST_CASE("normalize_address lower-cases the domain only") {
    CHECK(normalize_address(" <John.Doe@Example.COM> ") == "John.Doe@example.com");
    CHECK(normalize_address("a@b") == "a@b");
    CHECK(normalize_address("no-at-sign") == "");
    CHECK(normalize_address("@example.com") == "");
    CHECK(normalize_address("a b@example.com") == "");
}

TEST_CASE("sources round-trip through their names") {
    for (auto s :
         {source::smtp_reply, source::dsn, source::complaint, source::manual, source::import})
        CHECK(parse_source(to_string(s)) == s);
    CHECK(to_string(source::smtp_reply) == "smtp-reply");
    CHECK_FALSE(parse_source("bogus"));
}

TEST_CASE("match_key lower-cases the whole address") {
    CHECK(match_key(" <John.Doe@Example.COM> ") == "john.doe@example.com");
    CHECK(match_key("no-at-sign") == "");
}

TEST_CASE("an added address is found whatever its case, and keeps its first spelling") {
    temp_dir dir;
    std::string error;
    auto s = sqlite_store::open(dir.db(), &error);
    REQUIRE_MESSAGE(s, error);
    CHECK(s->add(make("Kijitora@Example.ORG", "userunknown", 1000)));
    auto found = s->lookup("Kijitora@example.org");
    REQUIRE(found);
    CHECK(found->address == "Kijitora@example.org");
    CHECK(found->reason == "userunknown");
    CHECK(found->status == "5.1.1");
    CHECK(found->origin == source::dsn);
    CHECK(found->count == 1);
    for (const char* spelling :
         {"kijitora@example.org", "KIJITORA@EXAMPLE.ORG", "kIjItOrA@ExAmPlE.oRg"})
        CHECK_MESSAGE(s->lookup(spelling), spelling);
    CHECK_FALSE(s->lookup("kijitora2@example.org"));
    // Another spelling counts on the same entry, which keeps the spelling first recorded.
    CHECK(s->add(make("KIJITORA@example.org", "userunknown", 2000)));
    CHECK(s->size() == 1);
    CHECK(s->lookup("kijitora@EXAMPLE.org")->count == 2);
    CHECK(s->lookup("kijitora@EXAMPLE.org")->address == "Kijitora@example.org");
    CHECK(s->remove("KiJiToRa@example.org"));
    CHECK(s->size() == 0);
}

TEST_CASE("a list from before case-insensitive matching is folded into one entry per address") {
    temp_dir dir;
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
        REQUIRE(
            sqlite3_exec(
                db,
                "CREATE TABLE suppression (address TEXT PRIMARY KEY NOT NULL, reason TEXT NOT "
                "NULL, status TEXT NOT NULL DEFAULT '', source TEXT NOT NULL, first_seen INTEGER "
                "NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL DEFAULT 1, "
                "message_id TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
                "INSERT INTO suppression VALUES ('Bad1@example.net', 'userunknown', '5.1.1', "
                "'dsn', 100, 300, 2, 'Q1');"
                "INSERT INTO suppression VALUES ('BAD1@example.net', 'mailboxfull', '5.2.2', "
                "'smtp-reply', 200, 400, 1, 'Q2');"
                "INSERT INTO suppression VALUES ('bad1@example.net', 'feedback', '', "
                "'complaint', 150, 250, 1, 'Q3');"
                "INSERT INTO suppression VALUES ('Other@example.net', 'userunknown', '5.1.1', "
                "'manual', 50, 50, 1, '');",
                nullptr, nullptr, nullptr
            ) == SQLITE_OK
        );
        sqlite3_close(db);
    }
    std::string error;
    auto s = sqlite_store::open(dir.db(), &error);
    REQUIRE_MESSAGE(s, error);
    CHECK(s->size() == 2);
    auto e = s->lookup("bad1@EXAMPLE.net");
    REQUIRE(e);
    CHECK(e->address == "Bad1@example.net");  // the earliest spelling
    CHECK(e->count == 4);
    CHECK(e->first_seen == 100);
    CHECK(e->last_seen == 400);
    CHECK(e->reason == "mailboxfull");  // the latest record's
    CHECK(e->message_id == "Q2");
    CHECK(s->lookup("other@example.net")->address == "Other@example.net");
    // Opening again changes nothing.
    s.reset();
    s = sqlite_store::open(dir.db(), &error);
    REQUIRE_MESSAGE(s, error);
    CHECK(s->size() == 2);
    CHECK(s->lookup("BAD1@example.net")->count == 4);
}

TEST_CASE("a list from before the queue_id column moves our queue ids out of message_id") {
    temp_dir dir;
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
        REQUIRE(
            sqlite3_exec(
                db,
                "CREATE TABLE suppression (address TEXT PRIMARY KEY NOT NULL, reason TEXT NOT "
                "NULL, status TEXT NOT NULL DEFAULT '', source TEXT NOT NULL, first_seen INTEGER "
                "NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL DEFAULT 1, "
                "message_id TEXT NOT NULL DEFAULT '', display TEXT NOT NULL DEFAULT '', kind TEXT "
                "NOT NULL DEFAULT 'hard') WITHOUT ROWID;"
                "INSERT INTO suppression VALUES ('a@example.net', 'userunknown', '5.1.1', "
                "'dsn', 1, 1, 1, '1A24C014FD1267D6', 'a@example.net', 'hard');"
                "INSERT INTO suppression VALUES ('b@example.net', 'userunknown', '5.1.1', "
                "'manual', 1, 1, 1, '<1A24C014FD1267D6@x>', 'b@example.net', 'hard');"
                "INSERT INTO suppression VALUES ('c@example.net', 'userunknown', '5.1.1', "
                "'manual', 1, 1, 1, 'deadbeefdeadbeef', 'c@example.net', 'hard');",
                nullptr, nullptr, nullptr
            ) == SQLITE_OK
        );
        sqlite3_close(db);
    }
    std::string error;
    auto s = sqlite_store::open(dir.db(), &error);
    REQUIRE_MESSAGE(s, error);
    auto a = *s->lookup("a@example.net");
    CHECK(a.queue_id == "1A24C014FD1267D6");
    CHECK(a.message_id.empty());
    auto b = *s->lookup("b@example.net");
    CHECK(b.queue_id.empty());
    CHECK(b.message_id == "<1A24C014FD1267D6@x>");
    CHECK(s->lookup("c@example.net")->message_id == "deadbeefdeadbeef");  // not one of ours
    // The queue id is written and read like the other columns from now on.
    auto d = make("d@example.net", "userunknown", 5);
    d.queue_id = "0000000000000001";
    d.message_id = "<m@x>";
    REQUIRE(s->add(d));
    s.reset();
    s = sqlite_store::open(dir.db(), &error);
    REQUIRE_MESSAGE(s, error);
    CHECK(s->lookup("d@example.net")->queue_id == "0000000000000001");
    CHECK(s->lookup("d@example.net")->message_id == "<m@x>");
    CHECK(s->lookup("a@example.net")->queue_id == "1A24C014FD1267D6");
}

TEST_CASE("removals are counted by reason, durably") {
    temp_dir dir;
    {
        auto s = sqlite_store::open(dir.db(), nullptr);
        REQUIRE(s);
        CHECK(s->removed_by_reason().empty());
        s->add(make("a@example.com", "userunknown", 1));
        s->add(make("b@example.com", "userunknown", 1));
        s->add(make("c@example.com", "feedback", 1));
        CHECK(s->remove("A@example.com"));
        CHECK(s->remove("c@example.com"));
        CHECK_FALSE(s->remove("c@example.com"));  // not there: not counted
    }
    auto s = sqlite_store::open(dir.db(), nullptr);
    REQUIRE(s);
    CHECK(s->remove("b@example.com"));
    auto counts = s->removed_by_reason();
    CHECK(counts.size() == 2);
    CHECK(counts["userunknown"] == 2);
    CHECK(counts["feedback"] == 1);
}

TEST_CASE("adding again counts and keeps the first time seen") {
    temp_dir dir;
    auto s = sqlite_store::open(dir.db(), nullptr);
    REQUIRE(s);
    CHECK(s->add(make("a@example.com", "mailboxfull", 1000)));
    auto second = make("a@EXAMPLE.com", "userunknown", 2000);
    second.origin = source::smtp_reply;
    second.message_id = "Q2";
    CHECK(s->add(second));
    auto e = *s->lookup("a@example.com");
    CHECK(e.count == 2);
    CHECK(e.first_seen == 1000);
    CHECK(e.last_seen == 2000);
    CHECK(e.reason == "userunknown");
    CHECK(e.origin == source::smtp_reply);
    CHECK(e.message_id == "Q2");
    CHECK(s->size() == 1);
}

TEST_CASE("remove deletes and says whether the address was there") {
    temp_dir dir;
    auto s = sqlite_store::open(dir.db(), nullptr);
    REQUIRE(s);
    s->add(make("a@example.com", "userunknown", 1));
    CHECK(s->remove("a@EXAMPLE.COM"));
    CHECK_FALSE(s->lookup("a@example.com"));
    CHECK_FALSE(s->remove("a@example.com"));
}

TEST_CASE("list filters by reason and time, newest first") {
    temp_dir dir;
    auto s = sqlite_store::open(dir.db(), nullptr);
    REQUIRE(s);
    s->add(make("old@example.com", "userunknown", 100));
    s->add(make("new@example.com", "userunknown", 300));
    s->add(make("full@example.com", "mailboxfull", 200));
    auto all = s->list({});
    REQUIRE(all.size() == 3);
    CHECK(all[0].address == "new@example.com");
    CHECK(all[2].address == "old@example.com");
    list_filter by_reason;
    by_reason.reason = "userunknown";
    CHECK(s->list(by_reason).size() == 2);
    list_filter recent;
    recent.since = 200;
    CHECK(s->list(recent).size() == 2);
    list_filter one;
    one.limit = 1;
    CHECK(s->list(one).size() == 1);
}

TEST_CASE("list filters by domain, kind and source; soft entries expire, hard ones stay") {
    temp_dir dir;
    auto s = sqlite_store::open(dir.db(), nullptr);
    REQUIRE(s);
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()
    )
                   .count();
    s->add(make("hard@Example.COM", "userunknown", now - 30 * 86400));
    auto soft_old = make("full@example.com", "mailboxfull", now - 10 * 86400);
    soft_old.severity = kind::soft;
    s->add(soft_old);
    auto soft_new = make("busy@other.test", "mailboxfull", now - 86400);
    soft_new.severity = kind::soft;
    soft_new.origin = source::smtp_reply;
    s->add(soft_new);
    list_filter at_example;
    at_example.domain = "EXAMPLE.com";
    CHECK(s->list(at_example).size() == 2);
    list_filter soft_only;
    soft_only.severity = kind::soft;
    CHECK(s->list(soft_only).size() == 2);
    list_filter from_replies;
    from_replies.origin = source::smtp_reply;
    REQUIRE(s->list(from_replies).size() == 1);
    CHECK(s->list(from_replies)[0].address == "busy@other.test");
    CHECK(s->list(from_replies)[0].severity == kind::soft);
    // A week's TTL: the 10-day-old soft entry is gone, the 30-day-old hard one stays.
    s->set_soft_ttl(7 * 86400);
    CHECK_FALSE(s->lookup("full@example.com"));
    CHECK(s->lookup("hard@example.com"));
    CHECK(s->lookup("busy@other.test"));
    CHECK(s->list({}).size() == 2);
    // A hard record makes a soft entry hard for good.
    s->add(make("busy@other.test", "userunknown", now));
    CHECK(s->lookup("busy@other.test")->severity == kind::hard);
}

TEST_CASE("invalid addresses are refused and add_all is all or nothing") {
    temp_dir dir;
    auto s = sqlite_store::open(dir.db(), nullptr);
    REQUIRE(s);
    CHECK_FALSE(s->add(make("not an address", "userunknown", 1)));
    CHECK_FALSE(s->last_error().empty());
    std::vector<entry> batch{
        make("x@example.com", "userunknown", 1), make("broken", "userunknown", 1)};
    CHECK_FALSE(s->add_all(batch));
    CHECK(s->size() == 0);
    batch.pop_back();
    CHECK(s->add_all(batch));
    CHECK(s->size() == 1);
}

TEST_CASE("entries survive closing and reopening the database") {
    temp_dir dir;
    {
        auto s = sqlite_store::open(dir.db(), nullptr);
        REQUIRE(s);
        s->add(make("kept@example.com", "feedback", 42));
    }
    auto again = sqlite_store::open(dir.db(), nullptr);
    REQUIRE(again);
    auto e = again->lookup("kept@example.com");
    REQUIRE(e);
    CHECK(e->reason == "feedback");
    CHECK(e->first_seen == 42);
}

TEST_CASE("open reports an error for a path that cannot be created") {
    std::string error;
    CHECK_FALSE(sqlite_store::open("/nonexistent-dir/x/suppression.sqlite", &error));
    CHECK_FALSE(error.empty());
}

// Lookup speed with a million entries is a benchmark, not a unit test: it belongs in scripts/bench.

TEST_CASE("an import merges: the same file twice changes nothing, counts are kept") {
    temp_dir dir;
    auto s = sqlite_store::open(dir.db(), nullptr);
    REQUIRE(s);
    auto a = make("a@example.com", "userunknown", 100);
    a.count = 4;
    auto b = make("b@example.com", "mailboxfull", 200);
    std::vector<entry> file{a, b};
    REQUIRE(s->add_all(file));
    REQUIRE(s->add_all(file));
    CHECK(s->size() == 2);
    CHECK(s->lookup("a@example.com")->count == 4);
    CHECK(s->lookup("b@example.com")->count == 1);
    // A newer row takes over reason and last_seen; an older one only widens first_seen.
    auto newer = make("A@example.com", "spamdetected", 500);
    auto older = make("b@example.com", "userunknown", 50);
    std::vector<entry> update{newer, older};
    REQUIRE(s->add_all(update));
    CHECK(s->lookup("a@example.com")->reason == "spamdetected");
    CHECK(s->lookup("a@example.com")->last_seen == 500);
    CHECK(s->lookup("b@example.com")->reason == "mailboxfull");
    CHECK(s->lookup("b@example.com")->first_seen == 50);
    CHECK(s->lookup("b@example.com")->count == 1);
}

TEST_CASE("an undated import row adds a new address and leaves a listed one as it is") {
    temp_dir dir;
    auto s = sqlite_store::open(dir.db(), nullptr);
    REQUIRE(s);
    REQUIRE(s->add(make("listed@example.com", "userunknown", 100)));
    auto listed = make("LISTED@example.com", "import", 5000);
    listed.undated = true;
    auto fresh = make("fresh@example.com", "import", 5000);
    fresh.undated = true;
    entry rows[] = {listed, fresh};
    REQUIRE(s->add_all(rows));
    auto e = *s->lookup("listed@example.com");
    CHECK(e.reason == "userunknown");
    CHECK(e.last_seen == 100);
    CHECK(e.count == 1);
    CHECK(s->lookup("fresh@example.com")->last_seen == 5000);
    // The same rows a second later change nothing.
    rows[1].first_seen = rows[1].last_seen = 5001;
    REQUIRE(s->add_all(rows));
    CHECK(s->lookup("fresh@example.com")->last_seen == 5000);
}
