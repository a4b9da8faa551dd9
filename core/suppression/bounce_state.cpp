#include "core/suppression/bounce_state.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include "core/suppression/store.hpp"

namespace outpost::suppression {

namespace {

struct stmt {
    sqlite3_stmt* s = nullptr;

    stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }

    ~stmt() { sqlite3_finalize(s); }

    stmt(const stmt&) = delete;
    stmt& operator=(const stmt&) = delete;

    void text(int i, std::string_view v) {
        sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }

    void integer(int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }
};

}  // namespace

std::unique_ptr<bounce_state> bounce_state::open(const std::string& path, std::string* error) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
        if (error)
            *error = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return nullptr;
    }
    const char* schema =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
        "CREATE TABLE IF NOT EXISTS verp_sent (queue_id TEXT NOT NULL, idx INTEGER NOT NULL,"
        " address TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (queue_id, idx)) WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS verp_sent_at ON verp_sent (at);"
        "CREATE TABLE IF NOT EXISTS soft_bounces (address TEXT PRIMARY KEY, count INTEGER NOT NULL,"
        " first_at INTEGER NOT NULL, last_at INTEGER NOT NULL) WITHOUT ROWID;";
    char* message = nullptr;
    if (sqlite3_exec(db, schema, nullptr, nullptr, &message) != SQLITE_OK) {
        if (error)
            *error = message ? message : "cannot create the schema";
        sqlite3_free(message);
        sqlite3_close(db);
        return nullptr;
    }
    // Files from before the source and provider columns get them (an error means they exist).
    for (const char* column : {"source", "provider"})
        sqlite3_exec(
            db,
            fmt::format("ALTER TABLE verp_sent ADD COLUMN {} TEXT NOT NULL DEFAULT ''", column)
                .c_str(),
            nullptr, nullptr, nullptr
        );
    return std::unique_ptr<bounce_state>(new bounce_state(db));
}

bounce_state::~bounce_state() {
    sqlite3_close(db_);
}

bool bounce_state::record_sent(std::span<const sent_entry> entries) {
    if (entries.empty())
        return true;
    sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
    bool ok = true;
    {
        stmt st(
            db_,
            "INSERT OR REPLACE INTO verp_sent (queue_id, idx, address, at, source, provider) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        );
        for (const auto& e : entries) {
            st.text(1, e.queue_id);
            st.integer(2, e.index);
            st.text(3, e.address);
            st.integer(4, e.at);
            st.text(5, e.source);
            st.text(6, e.provider);
            ok = sqlite3_step(st.s) == SQLITE_DONE && ok;
            sqlite3_reset(st.s);
        }
    }
    return sqlite3_exec(db_, ok ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK &&
           ok;
}

std::optional<sent_entry> bounce_state::sent(std::string_view queue_id, std::uint32_t index) {
    stmt st(
        db_, "SELECT address, at, source, provider FROM verp_sent WHERE queue_id = ? AND idx = ?"
    );
    st.text(1, queue_id);
    st.integer(2, index);
    if (sqlite3_step(st.s) != SQLITE_ROW)
        return std::nullopt;
    auto text = [&](int column) {
        return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st.s, column)));
    };
    return sent_entry{std::string(queue_id),         index,   text(0),
                      sqlite3_column_int64(st.s, 1), text(2), text(3)};
}

void bounce_state::prune_sent(std::int64_t older_than) {
    stmt st(db_, "DELETE FROM verp_sent WHERE at < ?");
    st.integer(1, older_than);
    sqlite3_step(st.s);
}

unsigned bounce_state::record_soft(
    std::string_view address, std::int64_t now, std::int64_t window
) {
    auto key = normalize_address(address);
    std::int64_t count = 0, first = now;
    {
        stmt st(db_, "SELECT count, first_at FROM soft_bounces WHERE address = ?");
        st.text(1, key);
        if (sqlite3_step(st.s) == SQLITE_ROW) {
            count = sqlite3_column_int64(st.s, 0);
            first = sqlite3_column_int64(st.s, 1);
        }
    }
    if (now - first > window) {
        count = 0;
        first = now;
    }
    ++count;
    stmt up(
        db_,
        "INSERT OR REPLACE INTO soft_bounces (address, count, first_at, last_at) VALUES (?, ?, ?, "
        "?)"
    );
    up.text(1, key);
    up.integer(2, count);
    up.integer(3, first);
    up.integer(4, now);
    sqlite3_step(up.s);
    return static_cast<unsigned>(count);
}

void bounce_state::reset_soft(std::string_view address) {
    stmt st(db_, "DELETE FROM soft_bounces WHERE address = ?");
    st.text(1, normalize_address(address));
    sqlite3_step(st.s);
}

}  // namespace outpost::suppression
