#include "core/shaping/counters.hpp"

#include <filesystem>

#include <doctest/doctest.h>
#include <unistd.h>

using namespace outpost::shaping;

namespace {

day d(const char* text) {
    return *parse_date(text);
}

// A fresh directory for one test, removed at the end.
struct temp_dir {
    std::filesystem::path path;

    temp_dir() {
        char name[] = "/tmp/outpost-shaping-XXXXXX";
        path = ::mkdtemp(name);
    }

    ~temp_dir() { std::filesystem::remove_all(path); }
};

void exercise(counter_store& s) {
    counter_key k{"203.0.113.10", "google", d("2026-11-20")};
    CHECK(s.get(k) == daily_counts{});
    CHECK(s.take(k, 2));
    CHECK(s.take(k, 2));
    CHECK_FALSE(s.take(k, 2));
    // A unit given back may be taken again; giving back never goes below zero or touches others.
    CHECK(s.give_back(k));
    CHECK(s.get(k).sent == 1);
    CHECK(s.take(k, 2));
    CHECK_FALSE(s.take(k, 2));
    counter_key unused{"203.0.113.10", "google", d("2026-11-19")};
    CHECK(s.give_back(unused));
    CHECK(s.get(unused) == daily_counts{});
    CHECK_FALSE(s.take(counter_key{"203.0.113.10", "google", d("2026-11-21")}, 0));
    CHECK(s.add(k, {0, 1, 0, 0}));
    CHECK(s.add(k, {3, 0, 1, 1}));
    CHECK(s.get(k) == daily_counts{5, 1, 1, 1});
    // Other keys are separate.
    CHECK(s.get(counter_key{"203.0.113.10", "microsoft", k.date}) == daily_counts{});
    CHECK(s.get(counter_key{"203.0.113.11", "google", k.date}) == daily_counts{});
    CHECK(s.add(counter_key{"203.0.113.10", "google", d("2026-11-22")}, {7, 0, 0, 0}));
    CHECK(s.add(counter_key{"203.0.113.10", "google", d("2026-11-25")}, {9, 0, 0, 0}));
    auto h = s.history("203.0.113.10", "google", d("2026-11-20"), d("2026-11-24"));
    REQUIRE(h.size() == 2);
    CHECK(h.begin()->first == d("2026-11-20"));
    CHECK(h[d("2026-11-22")].sent == 7);
}

}  // namespace

TEST_CASE("the memory store counts, caps and lists history") {
    memory_counter_store s;
    exercise(s);
}

TEST_CASE("the SQLite store counts, caps and lists history") {
    temp_dir dir;
    std::string error;
    auto s = sqlite_counter_store::open((dir.path / "shaping.sqlite").string(), &error);
    REQUIRE_MESSAGE(s, error);
    exercise(*s);
}

TEST_CASE("SQLite counters survive a restart, so a cap holds across it") {
    temp_dir dir;
    auto path = (dir.path / sqlite_counter_store::default_file).string();
    counter_key k{"203.0.113.10", "default", d("2026-11-20")};
    {
        auto s = sqlite_counter_store::open(path, nullptr);
        REQUIRE(s);
        for (int i = 0; i < 5; ++i)
            CHECK(s->take(k, 5));
        CHECK(s->add(k, {0, 2, 0, 0}));
    }
    auto s = sqlite_counter_store::open(path, nullptr);
    REQUIRE(s);
    CHECK(s->get(k) == daily_counts{5, 2, 0, 0});
    CHECK_FALSE(s->take(k, 5));
    CHECK(s->take(k, 6));
    // A second handle (outpostctl while the daemon runs) sees the same counts.
    auto reader = sqlite_counter_store::open(path, nullptr);
    REQUIRE(reader);
    CHECK(reader->get(k).sent == 6);
}

TEST_CASE("a store that cannot be opened says why") {
    std::string error;
    CHECK_FALSE(sqlite_counter_store::open("/nonexistent/dir/shaping.sqlite", &error));
    CHECK(error.find("/nonexistent/dir/shaping.sqlite") != std::string::npos);
}

TEST_CASE("backoffs are kept in the SQLite file and forgotten a day after they end") {
    temp_dir dir;
    auto path = (dir.path / sqlite_counter_store::default_file).string();
    std::string error;
    auto now = wall_time{parse_date("2026-11-20")->time_since_epoch()} + std::chrono::hours(12);
    {
        auto s = sqlite_counter_store::open(path, &error);
        REQUIRE_MESSAGE(s, error);
        CHECK(s->save({"provider:google", now + std::chrono::minutes(2), 0.5, 1, "421 4.7.28"}));
        CHECK(s->save({"domain:old.example", now - std::chrono::hours(30), 0.25, 0, "421"}));
        CHECK(s->save({"provider:google", now + std::chrono::minutes(4), 0.25, 2, "421 4.7.0"}));
    }
    auto s = sqlite_counter_store::open(path, &error);
    REQUIRE_MESSAGE(s, error);
    auto kept = s->load(now);
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].key == "provider:google");
    CHECK(kept[0].until == now + std::chrono::minutes(4));
    CHECK(kept[0].fraction == 0.25);
    CHECK(kept[0].repeats == 2);
    CHECK(kept[0].last_slowdown == "421 4.7.0");
}
