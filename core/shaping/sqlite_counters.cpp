// Warming counters in SQLite: one WITHOUT ROWID table keyed by ip, provider and day.
#include <sqlite3.h>

#include "core/shaping/counters.hpp"

namespace outpost::shaping {

namespace {

// A prepared statement, finalized at the end of its scope.
class statement {
public:
    statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }

    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    ~statement() { sqlite3_finalize(stmt_); }

    bool ok() const { return stmt_ != nullptr; }

    void bind(int i, std::string_view text) {
        sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }

    void bind(int i, std::uint64_t value) {
        sqlite3_bind_int64(stmt_, i, static_cast<sqlite3_int64>(value));
    }

    void bind_key(const counter_key& k) {
        bind(1, k.ip);
        bind(2, k.provider);
        bind(3, date_text(k.date));
    }

    int step() { return sqlite3_step(stmt_); }

    std::uint64_t count(int i) const {
        return static_cast<std::uint64_t>(sqlite3_column_int64(stmt_, i));
    }

    std::string text(int i) const {
        const auto* p = sqlite3_column_text(stmt_, i);
        return p ? std::string(
                       reinterpret_cast<const char*>(p),
                       static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))
                   )
                 : std::string();
    }

    daily_counts counts(int first) const {
        return daily_counts{count(first), count(first + 1), count(first + 2), count(first + 3)};
    }

private:
    sqlite3_stmt* stmt_ = nullptr;
};

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
)";

}  // namespace

std::unique_ptr<sqlite_counter_store> sqlite_counter_store::open(
    const std::string& path, std::string* error
) {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) {
        if (error)
            *error = path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return nullptr;
    }
    std::unique_ptr<sqlite_counter_store> s(new sqlite_counter_store(db));
    sqlite3_busy_timeout(db, 5000);
    // WAL lets outpostctl read while the daemon writes; FULL makes each commit durable.
    if (!s->exec("PRAGMA journal_mode=WAL") || !s->exec("PRAGMA synchronous=FULL") ||
        !s->exec(schema)) {
        if (error)
            *error = path + ": " + s->error_;
        return nullptr;
    }
    return s;
}

sqlite_counter_store::~sqlite_counter_store() {
    sqlite3_close(db_);
}

bool sqlite_counter_store::fail(const char* what) {
    error_ = std::string(what) + ": " + sqlite3_errmsg(db_);
    return false;
}

bool sqlite_counter_store::exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        error_ = message ? message : "sqlite error";
        sqlite3_free(message);
        return false;
    }
    return true;
}

bool sqlite_counter_store::add(const counter_key& key, const daily_counts& delta) {
    statement st(db_, R"(
INSERT INTO warming_counts (ip, provider, day, sent, deferred, bounced, complaints)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (ip, provider, day) DO UPDATE SET
    sent = sent + excluded.sent, deferred = deferred + excluded.deferred,
    bounced = bounced + excluded.bounced, complaints = complaints + excluded.complaints)");
    if (!st.ok())
        return fail("add");
    st.bind_key(key);
    st.bind(4, delta.sent);
    st.bind(5, delta.deferred);
    st.bind(6, delta.bounced);
    st.bind(7, delta.complaints);
    return st.step() == SQLITE_DONE || fail("add");
}

bool sqlite_counter_store::take(const counter_key& key, std::uint64_t cap) {
    // One statement: the insert happens only below the cap, the update only while below it.
    statement st(db_, R"(
INSERT INTO warming_counts (ip, provider, day, sent) SELECT ?1, ?2, ?3, 1 WHERE ?4 > 0
ON CONFLICT (ip, provider, day) DO UPDATE SET sent = sent + 1 WHERE sent < ?4)");
    if (!st.ok())
        return fail("take");
    st.bind_key(key);
    st.bind(4, cap);
    if (st.step() != SQLITE_DONE)
        return fail("take");
    error_.clear();
    return sqlite3_changes(db_) == 1;
}

daily_counts sqlite_counter_store::get(const counter_key& key) {
    statement st(db_, R"(
SELECT sent, deferred, bounced, complaints FROM warming_counts
WHERE ip = ?1 AND provider = ?2 AND day = ?3)");
    if (!st.ok()) {
        fail("get");
        return {};
    }
    st.bind_key(key);
    return st.step() == SQLITE_ROW ? st.counts(0) : daily_counts{};
}

std::map<day, daily_counts> sqlite_counter_store::history(
    std::string_view ip, std::string_view provider, day from, day to
) {
    std::map<day, daily_counts> out;
    statement st(db_, R"(
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
            out[*d] = st.counts(1);
    return out;
}

}  // namespace outpost::shaping
