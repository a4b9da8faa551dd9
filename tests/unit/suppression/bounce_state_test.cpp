// The bounce state: what was sent with VERP (and from where), soft-bounce runs.
#include "core/suppression/bounce_state.hpp"

#include <chrono>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <unistd.h>

using namespace outpost::suppression;
namespace fs = std::filesystem;

namespace {

struct state_file {
    fs::path dir = fs::temp_directory_path() /
                   ("outpost-bounce-state-" + std::to_string(::getpid()) + "-" +
                    std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));

    state_file() { fs::create_directories(dir); }

    ~state_file() { fs::remove_all(dir); }

    std::string path() const { return (dir / "bounce-state.sqlite").string(); }
};

}  // namespace

TEST_CASE("a sent entry keeps the source IP and provider it left with") {
    state_file f;
    std::string error;
    auto s = bounce_state::open(f.path(), &error);
    REQUIRE_MESSAGE(s, error);
    sent_entry e{"1A2B3C4D5E6F7081", 2, "rcpt@example.org", 1764000000, "127.0.0.2", "google"};
    REQUIRE(s->record_sent({&e, 1}));
    auto got = s->sent("1A2B3C4D5E6F7081", 2);
    REQUIRE(got);
    CHECK(got->address == "rcpt@example.org");
    CHECK(got->at == 1764000000);
    CHECK(got->source == "127.0.0.2");
    CHECK(got->provider == "google");
    CHECK_FALSE(s->sent("1A2B3C4D5E6F7081", 3));
}

TEST_CASE("a state file from before the source column is upgraded in place") {
    state_file f;
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(f.path().c_str(), &db) == SQLITE_OK);
        REQUIRE(
            sqlite3_exec(
                db,
                "CREATE TABLE verp_sent (queue_id TEXT NOT NULL, idx INTEGER NOT NULL, address "
                "TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (queue_id, idx)) WITHOUT ROWID;"
                "INSERT INTO verp_sent VALUES ('00000000000000AA', 0, 'old@example.org', 5);",
                nullptr, nullptr, nullptr
            ) == SQLITE_OK
        );
        sqlite3_close(db);
    }
    std::string error;
    auto s = bounce_state::open(f.path(), &error);
    REQUIRE_MESSAGE(s, error);
    auto old = s->sent("00000000000000AA", 0);
    REQUIRE(old);
    CHECK(old->address == "old@example.org");
    CHECK(old->source.empty());
    sent_entry e{"00000000000000BB", 1, "new@example.org", 6, "127.0.0.3", "default"};
    REQUIRE(s->record_sent({&e, 1}));
    CHECK(s->sent("00000000000000BB", 1)->source == "127.0.0.3");
}

TEST_CASE("soft bounces count per address whatever its case, also from an older file") {
    state_file f;
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(f.path().c_str(), &db) == SQLITE_OK);
        REQUIRE(
            sqlite3_exec(
                db,
                "CREATE TABLE soft_bounces (address TEXT PRIMARY KEY, count INTEGER NOT NULL,"
                " first_at INTEGER NOT NULL, last_at INTEGER NOT NULL) WITHOUT ROWID;"
                "INSERT INTO soft_bounces VALUES ('Soft@example.org', 1, 100, 100);"
                "INSERT INTO soft_bounces VALUES ('soft@example.org', 1, 200, 200);",
                nullptr, nullptr, nullptr
            ) == SQLITE_OK
        );
        sqlite3_close(db);
    }
    std::string error;
    auto s = bounce_state::open(f.path(), &error);
    REQUIRE_MESSAGE(s, error);
    CHECK(s->record_soft("SOFT@Example.org", 300, 1000) == 3);
    s->reset_soft("sOfT@example.org");
    CHECK(s->record_soft("soft@example.org", 400, 1000) == 1);
}

TEST_CASE("a delivery resets soft bounces counted before a restart") {
    state_file f;
    std::string error;
    {
        auto before = bounce_state::open(f.path(), &error);
        REQUIRE_MESSAGE(before, error);
        CHECK(before->record_soft("later@example.org", 100, 1000) == 1);
        CHECK(before->record_soft("later@example.org", 200, 1000) == 2);
        before->reset_soft("never-bounced@example.org");  // nothing to forget: nothing changes
        CHECK(before->soft_count("later@example.org", 300, 1000) == 2);
    }
    {
        auto after = bounce_state::open(f.path(), &error);
        REQUIRE_MESSAGE(after, error);
        after->reset_soft("Later@Example.org");
    }
    auto reopened = bounce_state::open(f.path(), &error);
    REQUIRE_MESSAGE(reopened, error);
    CHECK(reopened->soft_count("later@example.org", 300, 1000) == 0);
    CHECK(reopened->record_soft("later@example.org", 400, 1000) == 1);
}

TEST_CASE("pruning forgets sent entries older than the cut-off, and only those") {
    state_file f;
    std::string error;
    auto s = bounce_state::open(f.path(), &error);
    REQUIRE_MESSAGE(s, error);
    sent_entry old_one{"1A2B3C4D5E6F7081", 0, "old@example.org", 1000};
    sent_entry new_one{"1A2B3C4D5E6F7082", 0, "new@example.org", 2000};
    REQUIRE(s->record_sent({&old_one, 1}));
    REQUIRE(s->record_sent({&new_one, 1}));
    s->prune_sent(2000);
    CHECK_FALSE(s->sent("1A2B3C4D5E6F7081", 0));
    CHECK(s->sent("1A2B3C4D5E6F7082", 0));
}
