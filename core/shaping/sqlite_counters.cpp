// Warming counters in SQLite: one WITHOUT ROWID table keyed by ip, provider and day.
#include <sqlite3.h>

#include "core/shaping/counters.hpp"
#include "core/util/sqlite_statement.hpp"

namespace outpost::shaping {

namespace {

using statement = util::sqlite_statement;

void bind_key(statement& st, const counter_key& k) {
    st.bind(1, k.ip);
    st.bind(2, k.provider);
    st.bind(3, date_text(k.date));
}

daily_counts counts_of(const statement& st, int first) {
    auto count = [&](int i) { return static_cast<std::uint64_t>(st.integer(i)); };
    return daily_counts{count(first), count(first + 1), count(first + 2), count(first + 3)};
}

// Days are ISO dates so that operators can read the table with the sqlite3 shell.
constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS warming_counts (
    ip         TEXT NOT NULL,
    provider   TEXT NOT NULL,
    day        TEXT NOT NULL,
    sent       INTEGER NOT NULL DEFAULT 0,
    deferred   INTEGER NOT NULL DEFAULT 0,
    bounced    INTEGER NOT NULL DEFAULT 0,
    complaints INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ip, provider, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS throttle_backoffs (
    key           TEXT PRIMARY KEY,
    until_unix_ms INTEGER NOT NULL,
    fraction      REAL NOT NULL,
    repeats       INTEGER NOT NULL,
    last_slowdown TEXT NOT NULL
) WITHOUT ROWID;
)";

}  // namespace

std::unique_ptr<sqlite_counter_store> sqlite_counter_store::open(
    const std::string& path, std::string* error
) {
    // WAL lets outpostctl read while the daemon writes. NORMAL does not fsync each commit: with
    // FULL a take cost 216 us of the event loop on this VM's disk, with NORMAL 15 us. A commit
    // is in the WAL file at once, so a crash of the daemon loses nothing; only a power loss or
    // a kernel crash before the kernel writes it out (seconds; the spool's syncfs batches and
    // each WAL checkpoint also do) can lose the last takes, and a cap may then be exceeded by
    // the messages sent in those seconds.
    auto* db = util::open_sqlite(
        path, std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") + schema, error
    );
    return db ? std::unique_ptr<sqlite_counter_store>(new sqlite_counter_store(db)) : nullptr;
}

sqlite_counter_store::~sqlite_counter_store() {
    for (auto* st : {add_stmt_, take_stmt_, give_back_stmt_, history_stmt_})
        sqlite3_finalize(st);
    sqlite3_close(db_);
}

bool sqlite_counter_store::fail(const char* what) {
    error_ = std::string(what) + ": " + sqlite3_errmsg(db_);
    return false;
}

bool sqlite_counter_store::exec(const char* sql) {
    return util::sqlite_exec(db_, sql, &error_);
}

bool sqlite_counter_store::add(const counter_key& key, const daily_counts& delta) {
    statement st(db_, add_stmt_, R"(
INSERT INTO warming_counts (ip, provider, day, sent, deferred, bounced, complaints)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (ip, provider, day) DO UPDATE SET
    sent = sent + excluded.sent, deferred = deferred + excluded.deferred,
    bounced = bounced + excluded.bounced, complaints = complaints + excluded.complaints)");
    if (!st.ok())
        return fail("add");
    bind_key(st, key);
    st.bind(4, delta.sent);
    st.bind(5, delta.deferred);
    st.bind(6, delta.bounced);
    st.bind(7, delta.complaints);
    return st.step() == SQLITE_DONE || fail("add");
}

bool sqlite_counter_store::take(const counter_key& key, std::uint64_t cap) {
    // One statement: the insert happens only below the cap, the update only while below it.
    statement st(db_, take_stmt_, R"(
INSERT INTO warming_counts (ip, provider, day, sent) SELECT ?1, ?2, ?3, 1 WHERE ?4 > 0
ON CONFLICT (ip, provider, day) DO UPDATE SET sent = sent + 1 WHERE sent < ?4)");
    if (!st.ok())
        return fail("take");
    bind_key(st, key);
    st.bind(4, cap);
    if (st.step() != SQLITE_DONE)
        return fail("take");
    error_.clear();
    return sqlite3_changes(db_) == 1;
}

bool sqlite_counter_store::give_back(const counter_key& key) {
    statement st(db_, give_back_stmt_, R"(
UPDATE warming_counts SET sent = sent - 1
WHERE ip = ?1 AND provider = ?2 AND day = ?3 AND sent > 0)");
    if (!st.ok())
        return fail("give back");
    bind_key(st, key);
    return st.step() == SQLITE_DONE || fail("give back");
}

daily_counts sqlite_counter_store::get(const counter_key& key) {
    statement st(db_, R"(
SELECT sent, deferred, bounced, complaints FROM warming_counts
WHERE ip = ?1 AND provider = ?2 AND day = ?3)");
    if (!st.ok()) {
        fail("get");
        return {};
    }
    bind_key(st, key);
    return st.step() == SQLITE_ROW ? counts_of(st, 0) : daily_counts{};
}

std::map<day, daily_counts> sqlite_counter_store::history(
    std::string_view ip, std::string_view provider, day from, day to
) {
    std::map<day, daily_counts> out;
    statement st(db_, history_stmt_, R"(
SELECT day, sent, deferred, bounced, complaints FROM warming_counts
WHERE ip = ?1 AND provider = ?2 AND day >= ?3 AND day <= ?4 ORDER BY day)");
    if (!st.ok()) {
        fail("history");
        return out;
    }
    st.bind(1, ip);
    st.bind(2, provider);
    st.bind(3, date_text(from));
    st.bind(4, date_text(to));
    while (st.step() == SQLITE_ROW)
        if (auto d = parse_date(st.text(0)))
            out[*d] = counts_of(st, 1);
    return out;
}

namespace {

std::int64_t unix_ms(wall_time t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

bool sqlite_counter_store::save(const backoff_record& r) {
    statement st(db_, R"(
INSERT OR REPLACE INTO throttle_backoffs (key, until_unix_ms, fraction, repeats, last_slowdown)
VALUES (?1, ?2, ?3, ?4, ?5))");
    if (!st.ok())
        return fail("save backoff");
    st.bind(1, r.key);
    st.bind(2, unix_ms(r.until));
    st.bind(3, r.fraction);
    st.bind(4, r.repeats);
    st.bind(5, r.last_slowdown);
    return st.step() == SQLITE_DONE || fail("save backoff");
}

std::vector<backoff_record> sqlite_counter_store::load(wall_time now) {
    std::vector<backoff_record> out;
    // Older ones have recovered fully: forget them.
    statement forget(db_, "DELETE FROM throttle_backoffs WHERE until_unix_ms < ?1");
    forget.bind(1, unix_ms(now - std::chrono::hours(24)));
    forget.step();
    statement st(
        db_, "SELECT key, until_unix_ms, fraction, repeats, last_slowdown FROM throttle_backoffs"
    );
    if (!st.ok()) {
        fail("load backoffs");
        return out;
    }
    while (st.step() == SQLITE_ROW)
        out.push_back(backoff_record{
            st.text(0), wall_time{std::chrono::milliseconds(st.integer(1))}, st.real(2),
            static_cast<unsigned>(st.integer(3)), st.text(4)});
    return out;
}

}  // namespace outpost::shaping
