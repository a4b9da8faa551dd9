#include "core/suppression/bounce_state.hpp"

#include <set>

#include <fmt/format.h>
#include <sqlite3.h>

#include "core/suppression/store.hpp"
#include "core/util/sqlite_statement.hpp"

namespace outpost::suppression {

namespace {

using stmt = util::sqlite_statement;

}  // namespace

std::unique_ptr<bounce_state> bounce_state::open(const std::string& path, std::string* error) {
    auto* db = util::open_sqlite(
        path,
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS verp_sent (queue_id TEXT NOT NULL, idx INTEGER NOT NULL,"
        " address TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (queue_id, idx)) WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS verp_sent_at ON verp_sent (at);"
        "CREATE TABLE IF NOT EXISTS soft_bounces (address TEXT PRIMARY KEY, count INTEGER NOT NULL,"
        " first_at INTEGER NOT NULL, last_at INTEGER NOT NULL) WITHOUT ROWID;"
        // Counts from before case-insensitive matching, folded into the lower-cased address.
        "INSERT INTO soft_bounces (address, count, first_at, last_at)"
        " SELECT lower(address), count, first_at, last_at FROM soft_bounces"
        " WHERE address <> lower(address) ORDER BY first_at"
        " ON CONFLICT(address) DO UPDATE SET count = count + excluded.count,"
        " first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at);"
        "DELETE FROM soft_bounces WHERE address <> lower(address);",
        error
    );
    if (!db)
        return nullptr;
    // Files from before the source and provider columns get them.
    std::set<std::string> columns;
    {
        stmt info(db, "PRAGMA table_info(verp_sent)");
        while (info.step() == SQLITE_ROW)
            columns.insert(info.text(1));
    }
    for (const char* column : {"source", "provider", "message_id"}) {
        if (columns.count(column))
            continue;
        std::string why;
        if (!util::sqlite_exec(
                db,
                fmt::format("ALTER TABLE verp_sent ADD COLUMN {} TEXT NOT NULL DEFAULT ''", column),
                &why
            )) {
            if (error)
                *error = path + ": adding verp_sent." + column + ": " + why;
            sqlite3_close(db);
            return nullptr;
        }
    }
    auto state = std::unique_ptr<bounce_state>(new bounce_state(db));
    stmt soft(db, "SELECT address FROM soft_bounces");
    while (soft.step() == SQLITE_ROW)
        state->soft_addresses_.insert(soft.text(0));
    return state;
}

bounce_state::~bounce_state() {
    for (auto* st : {insert_sent_, select_sent_, select_soft_, upsert_soft_, delete_soft_})
        sqlite3_finalize(st);
    sqlite3_close(db_);
}

bool bounce_state::record_sent(std::span<const sent_entry> entries) {
    if (entries.empty())
        return true;
    sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
    bool ok = true;
    {
        stmt st(
            db_, insert_sent_,
            "INSERT OR REPLACE INTO verp_sent (queue_id, idx, address, at, source, provider, "
            "message_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
        );
        for (const auto& e : entries) {
            st.bind(1, e.queue_id);
            st.bind(2, e.index);
            st.bind(3, e.address);
            st.bind(4, e.at);
            st.bind(5, e.source);
            st.bind(6, e.provider);
            st.bind(7, e.message_id);
            ok = st.step() == SQLITE_DONE && ok;
            st.reset();
        }
    }
    return sqlite3_exec(db_, ok ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK &&
           ok;
}

std::optional<sent_entry> bounce_state::sent(std::string_view queue_id, std::uint32_t index) {
    stmt st(
        db_, select_sent_,
        "SELECT address, at, source, provider, message_id FROM verp_sent WHERE queue_id = ? AND "
        "idx = ?"
    );
    st.bind(1, queue_id);
    st.bind(2, index);
    if (st.step() != SQLITE_ROW)
        return std::nullopt;
    return sent_entry{std::string(queue_id),
                      index,
                      st.text(0),
                      st.integer(1),
                      st.text(2),
                      st.text(3),
                      st.text(4)};
}

void bounce_state::prune_sent(std::int64_t older_than) {
    stmt st(db_, "DELETE FROM verp_sent WHERE at < ?");
    st.bind(1, older_than);
    st.step();
}

unsigned bounce_state::record_soft(
    std::string_view address, std::int64_t now, std::int64_t window
) {
    auto key = match_key(address);
    soft_addresses_.insert(key);
    std::int64_t count = 0, first = now;
    {
        stmt st(db_, select_soft_, "SELECT count, first_at FROM soft_bounces WHERE address = ?");
        st.bind(1, key);
        if (st.step() == SQLITE_ROW) {
            count = st.integer(0);
            first = st.integer(1);
        }
    }
    if (now - first > window) {
        count = 0;
        first = now;
    }
    ++count;
    stmt up(
        db_, upsert_soft_,
        "INSERT OR REPLACE INTO soft_bounces (address, count, first_at, last_at) VALUES (?, ?, ?, "
        "?)"
    );
    up.bind(1, key);
    up.bind(2, count);
    up.bind(3, first);
    up.bind(4, now);
    up.step();
    return static_cast<unsigned>(count);
}

unsigned bounce_state::soft_count(std::string_view address, std::int64_t now, std::int64_t window) {
    stmt st(db_, "SELECT count, first_at FROM soft_bounces WHERE address = ?");
    st.bind(1, match_key(address));
    if (st.step() != SQLITE_ROW || now - st.integer(1) > window)
        return 0;
    return static_cast<unsigned>(st.integer(0));
}

void bounce_state::reset_soft(std::string_view address) {
    auto key = match_key(address);
    if (soft_addresses_.erase(key) == 0)
        return;
    stmt st(db_, delete_soft_, "DELETE FROM soft_bounces WHERE address = ?");
    st.bind(1, key);
    st.step();
}

}  // namespace outpost::suppression
