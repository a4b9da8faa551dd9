// The warming counters store: per source IP × provider × day, what was sent and how it went.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/shaping/warming.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace outpost::shaping {

struct counter_key {
    std::string ip;        // source address as text, "203.0.113.10"
    std::string provider;  // provider name, or default_provider
    day date{};            // local day of the IP's schedule time zone

    bool operator==(const counter_key&) const = default;
};

// A destination's backoff as kept across restarts (and, with a shared store, across relays).
struct backoff_record {
    std::string key;      // throttle key, "provider:google"
    wall_time until{};    // end of the suspension
    double fraction = 1;  // share of the configured rate at until
    unsigned repeats = 0;
    std::string last_slowdown;  // "421 4.7.0"
};

// Where backoffs live: the same SQLite file as the counters by default.
class throttle_store {
public:
    virtual ~throttle_store() = default;
    virtual bool save(const backoff_record& r) = 0;
    // Every record whose recovery may still be under way at now (until + a day, at most).
    virtual std::vector<backoff_record> load(wall_time now) = 0;
};

// Where the counters live: SQLite in the spool directory by default; a shared backend (Redis, for
// a fleet of relays) can take its place without touching the scheduler. Implementations are
// called from one thread at a time; counts only decrease by give_back().
class counter_store {
public:
    virtual ~counter_store() = default;

    // Adds delta to the key's counts (creating them at zero). False on a storage error.
    virtual bool add(const counter_key& key, const daily_counts& delta) = 0;

    // Takes one unit of today's cap: adds 1 to sent and returns true only when sent was below cap;
    // otherwise changes nothing and returns false (also on a storage error, see last_error). The
    // check and the increment are one step, so two deliveries never both take the last unit.
    virtual bool take(const counter_key& key, std::uint64_t cap) = 0;

    // Returns a unit that take() gave but no mail used (the connection failed before a
    // transaction): subtracts 1 from sent, never below 0. False on a storage error.
    virtual bool give_back(const counter_key& key) = 0;

    // The counts of one key (zeros when none were recorded).
    virtual daily_counts get(const counter_key& key) = 0;

    // The counts of ip × provider for every recorded day in [from, to].
    virtual std::map<day, daily_counts> history(
        std::string_view ip, std::string_view provider, day from, day to
    ) = 0;

    virtual std::string last_error() const = 0;
};

// In memory: tests, and outpostctl warming simulate.
class memory_counter_store final : public counter_store {
public:
    bool add(const counter_key& key, const daily_counts& delta) override;
    bool take(const counter_key& key, std::uint64_t cap) override;
    bool give_back(const counter_key& key) override;
    daily_counts get(const counter_key& key) override;
    std::map<day, daily_counts> history(
        std::string_view ip, std::string_view provider, day from, day to
    ) override;

    std::string last_error() const override { return {}; }

private:
    std::map<std::string, std::map<day, daily_counts>> counts_;  // "ip provider" → day → counts
};

// SQLite (WAL), by default SPOOL_DIR/shaping.sqlite.
class sqlite_counter_store final : public counter_store, public throttle_store {
public:
    // Opens or creates the database at path (WAL journal, so that a returned take() survives a
    // crash of the daemon and a cap holds across restarts; synchronous=NORMAL, no fsync per
    // commit, so a power loss may lose the last seconds of takes; 5 s busy timeout so the daemon
    // and outpostctl can share it). nullptr, with the reason in *error, when it cannot be opened.
    static std::unique_ptr<sqlite_counter_store> open(const std::string& path, std::string* error);

    static constexpr const char* default_file = "shaping.sqlite";

    ~sqlite_counter_store() override;
    sqlite_counter_store(const sqlite_counter_store&) = delete;
    sqlite_counter_store& operator=(const sqlite_counter_store&) = delete;

    bool add(const counter_key& key, const daily_counts& delta) override;
    bool take(const counter_key& key, std::uint64_t cap) override;
    bool give_back(const counter_key& key) override;
    daily_counts get(const counter_key& key) override;
    std::map<day, daily_counts> history(
        std::string_view ip, std::string_view provider, day from, day to
    ) override;

    std::string last_error() const override { return error_; }

    bool save(const backoff_record& r) override;
    std::vector<backoff_record> load(wall_time now) override;

private:
    sqlite3* db_;
    std::string error_;
    // Prepared once: these run for every message sent from a warming IP.
    sqlite3_stmt* add_stmt_ = nullptr;
    sqlite3_stmt* take_stmt_ = nullptr;
    sqlite3_stmt* give_back_stmt_ = nullptr;
    sqlite3_stmt* history_stmt_ = nullptr;

    explicit sqlite_counter_store(sqlite3* db) : db_(db) {}

    bool exec(const char* sql);
    bool fail(const char* what);
};

}  // namespace outpost::shaping
