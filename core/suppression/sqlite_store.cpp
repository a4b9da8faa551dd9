// SQLite suppression store: one WITHOUT ROWID table keyed by match_key() of the address, with the
// address as first written beside it for display.
#include "core/suppression/sqlite_store.hpp"

#include <algorithm>
#include <chrono>

#include <sqlite3.h>

#include "core/util/sqlite_statement.hpp"
#include "core/util/text.hpp"

namespace outpost::suppression {

namespace {

using statement = util::sqlite_statement;

// One row of the columns below.
entry row_of(const statement& st) {
    entry e;
    e.address = st.text(8);
    if (e.address.empty())
        e.address = st.text(0);
    e.severity = parse_kind(st.text(9)).value_or(kind::hard);
    e.reason = st.text(1);
    e.status = st.text(2);
    e.origin = parse_source(st.text(3)).value_or(source::manual);
    e.first_seen = st.integer(4);
    e.last_seen = st.integer(5);
    e.count = static_cast<std::uint32_t>(st.integer(6));
    e.message_id = st.text(7);
    e.queue_id = st.text(10);
    return e;
}

constexpr const char* columns =
    "address, reason, status, source, first_seen, last_seen, count, message_id, display, kind, "
    "queue_id";

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS suppression (
    address    TEXT PRIMARY KEY NOT NULL,
    reason     TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1,
    message_id TEXT NOT NULL DEFAULT '',
    display    TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL DEFAULT 'hard',
    queue_id   TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS removals (
    reason TEXT PRIMARY KEY NOT NULL,
    count  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS suppression_last_seen ON suppression(last_seen);
CREATE INDEX IF NOT EXISTS suppression_reason ON suppression(reason, last_seen);
)";

// Files from before case-insensitive matching keyed rows by the address with its local part as
// written: give them the display column, then fold rows that differ only in case into one keyed
// by the lower-cased address (counts added, the earliest spelling and first_seen, the latest
// record's reason). SQLite's lower() folds ASCII only, as match_key() does.
constexpr const char* fold_case = R"(
BEGIN IMMEDIATE;
ALTER TABLE suppression ADD COLUMN display TEXT NOT NULL DEFAULT '';
UPDATE suppression SET display = address;
INSERT INTO suppression (address, reason, status, source, first_seen, last_seen, count,
                         message_id, display)
    SELECT lower(address), reason, status, source, first_seen, last_seen, count, message_id,
           display
    FROM suppression WHERE address <> lower(address) ORDER BY first_seen
    ON CONFLICT(address) DO UPDATE SET
        reason = CASE WHEN excluded.last_seen > last_seen THEN excluded.reason ELSE reason END,
        status = CASE WHEN excluded.last_seen > last_seen THEN excluded.status ELSE status END,
        source = CASE WHEN excluded.last_seen > last_seen THEN excluded.source ELSE source END,
        message_id = CASE WHEN excluded.last_seen > last_seen THEN excluded.message_id
                          ELSE message_id END,
        display = CASE WHEN excluded.first_seen < first_seen THEN excluded.display ELSE display END,
        first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen),
        count = count + excluded.count;
DELETE FROM suppression WHERE address <> lower(address);
COMMIT;
)";

// Files from before the queue_id column kept our queue id in message_id (16 upper-case hex
// digits, no '@'): it moves to queue_id, and message_id is left for the Message-ID.
constexpr const char* split_queue_id = R"(
BEGIN IMMEDIATE;
ALTER TABLE suppression ADD COLUMN queue_id TEXT NOT NULL DEFAULT '';
UPDATE suppression SET queue_id = message_id, message_id = ''
    WHERE length(message_id) = 16 AND message_id NOT GLOB '*[^0-9A-F]*';
COMMIT;
)";

bool has_column(sqlite3* db, std::string_view name) {
    statement info(db, "PRAGMA table_info(suppression)");
    while (info.step() == SQLITE_ROW)
        if (info.text(1) == name)
            return true;
    return false;
}

}  // namespace

std::unique_ptr<sqlite_store> sqlite_store::open(const std::string& path, std::string* error) {
    // WAL lets outpostctl read while the daemon writes; FULL makes each commit durable.
    auto* db = util::open_sqlite(
        path, std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;") + schema, error
    );
    if (!db)
        return nullptr;
    // Files from before kinds: every entry was for good, so hard.
    if (!has_column(db, "kind")) {
        std::string why;
        if (!util::sqlite_exec(
                db, "ALTER TABLE suppression ADD COLUMN kind TEXT NOT NULL DEFAULT 'hard'", &why
            )) {
            if (error)
                *error = path + ": adding the kind column: " + why;
            sqlite3_close(db);
            return nullptr;
        }
    }
    if (!has_column(db, "display")) {
        std::string why;
        if (!util::sqlite_exec(db, fold_case, &why)) {
            util::sqlite_exec(db, "ROLLBACK", nullptr);
            if (error)
                *error = path + ": folding addresses to one case: " + why;
            sqlite3_close(db);
            return nullptr;
        }
    }
    if (!has_column(db, "queue_id")) {
        std::string why;
        if (!util::sqlite_exec(db, split_queue_id, &why)) {
            util::sqlite_exec(db, "ROLLBACK", nullptr);
            if (error)
                *error = path + ": adding the queue_id column: " + why;
            sqlite3_close(db);
            return nullptr;
        }
    }
    return std::unique_ptr<sqlite_store>(new sqlite_store(db));
}

sqlite_store::~sqlite_store() {
    sqlite3_finalize(insert_);
    sqlite3_finalize(lookup_);
    sqlite3_close(db_);
}

bool sqlite_store::fail(const char* what) {
    error_ = std::string(what) + ": " + sqlite3_errmsg(db_);
    return false;
}

bool sqlite_store::exec(const char* sql) {
    return util::sqlite_exec(db_, sql, &error_);
}

namespace {

// One record's columns, in the order both statements below take them.
constexpr const char* insert_head =
    "INSERT INTO suppression (address, reason, status, source, first_seen, last_seen, count, "
    "message_id, display, kind, queue_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
    "ON CONFLICT(address) DO UPDATE SET "
    "kind = CASE WHEN kind = 'hard' OR excluded.kind = 'hard' THEN 'hard' ELSE 'soft' END, "
    "first_seen = min(first_seen, excluded.first_seen), "
    "last_seen = max(last_seen, excluded.last_seen), ";

// add(): one more record of the address, its reason and source the latest. The spelling first
// recorded stays (display is not updated).
const std::string counted_sql = std::string(insert_head) +
                                "reason = excluded.reason, status = excluded.status, "
                                "source = excluded.source, message_id = excluded.message_id, "
                                "queue_id = excluded.queue_id, "
                                "count = count + 1";

// add_all(): an import merges, so the same file twice changes nothing.
const std::string merged_sql =
    std::string(insert_head) +
    "reason = CASE WHEN excluded.last_seen > last_seen THEN excluded.reason ELSE reason END, "
    "status = CASE WHEN excluded.last_seen > last_seen THEN excluded.status ELSE status END, "
    "source = CASE WHEN excluded.last_seen > last_seen THEN excluded.source ELSE source END, "
    "message_id = CASE WHEN excluded.last_seen > last_seen THEN excluded.message_id ELSE "
    "message_id END, "
    "queue_id = CASE WHEN excluded.last_seen > last_seen THEN excluded.queue_id ELSE queue_id END, "
    "count = max(count, excluded.count)";

// add_all() of an undated row: new addresses only.
const std::string undated_sql =
    std::string(insert_head).substr(0, std::string_view(insert_head).find(" ON CONFLICT")) +
    " ON CONFLICT(address) DO NOTHING";

void bind_entry(statement& st, const std::string& key, const entry& e, std::uint32_t count) {
    st.bind(1, key);
    st.bind(2, e.reason);
    st.bind(3, e.status);
    st.bind(4, to_string(e.origin));
    st.bind(5, e.first_seen ? e.first_seen : e.last_seen);
    st.bind(6, e.last_seen ? e.last_seen : e.first_seen);
    st.bind(7, count);
    st.bind(8, e.message_id);
    st.bind(9, normalize_address(e.address));
    st.bind(10, to_string(e.severity));
    st.bind(11, e.queue_id);
}

}  // namespace

bool sqlite_store::write(const entry& e, bool import) {
    auto key = match_key(e.address);
    if (key.empty()) {
        error_ = "invalid address \"" + e.address + "\"";
        return false;
    }
    auto run = [&](statement& st) {
        if (!st.ok())
            return fail("prepare insert");
        bind_entry(st, key, e, import ? std::max<std::uint32_t>(e.count, 1) : 1);
        return st.step() == SQLITE_DONE || fail("insert");
    };
    if (import) {
        statement st(db_, e.undated ? undated_sql.c_str() : merged_sql.c_str());
        return run(st);
    }
    statement st(db_, insert_, counted_sql.c_str());
    return run(st);
}

bool sqlite_store::add(const entry& e) {
    return write(e, false);
}

bool sqlite_store::add_all(std::span<const entry> entries) {
    if (!exec("BEGIN IMMEDIATE"))
        return false;
    for (const auto& e : entries) {
        if (!write(e, true)) {
            auto why = error_;
            exec("ROLLBACK");
            error_ = why;
            return false;
        }
    }
    return exec("COMMIT");
}

std::optional<entry> sqlite_store::lookup(std::string_view address) {
    auto key = match_key(address);
    if (key.empty())
        return std::nullopt;
    static const std::string sql = std::string("SELECT ") + columns +
                                   " FROM suppression WHERE address = ?1 AND (kind = 'hard' OR "
                                   "last_seen >= ?2)";
    statement st(db_, lookup_, sql.c_str());
    if (!st.ok()) {
        fail("prepare lookup");
        return std::nullopt;
    }
    st.bind(1, key);
    st.bind(2, soft_cutoff());
    if (st.step() == SQLITE_ROW)
        return row_of(st);
    return std::nullopt;
}

bool sqlite_store::remove(std::string_view address) {
    auto key = match_key(address);
    if (key.empty())
        return false;
    if (!exec("BEGIN IMMEDIATE"))
        return false;
    bool removed = false;
    {
        statement st(db_, "DELETE FROM suppression WHERE address = ?1 RETURNING reason");
        if (!st.ok()) {
            exec("ROLLBACK");
            return fail("prepare delete");
        }
        st.bind(1, key);
        std::string reason;
        auto rc = st.step();
        if (rc == SQLITE_ROW) {
            removed = true;
            reason = st.text(0);
            while ((rc = st.step()) == SQLITE_ROW) {
            }
        }
        if (rc != SQLITE_DONE) {
            auto why = std::string("delete: ") + sqlite3_errmsg(db_);
            exec("ROLLBACK");
            error_ = why;
            return false;
        }
        if (removed) {
            statement count(
                db_,
                "INSERT INTO removals (reason, count) VALUES (?1, 1) "
                "ON CONFLICT(reason) DO UPDATE SET count = count + 1"
            );
            count.bind(1, reason);
            if (!count.ok() || count.step() != SQLITE_DONE) {
                auto why = std::string("count the removal: ") + sqlite3_errmsg(db_);
                exec("ROLLBACK");
                error_ = why;
                return false;
            }
        }
    }
    return exec("COMMIT") && removed;
}

std::map<std::string, std::uint64_t> sqlite_store::removed_by_reason() {
    std::map<std::string, std::uint64_t> out;
    statement st(db_, "SELECT reason, count FROM removals");
    while (st.ok() && st.step() == SQLITE_ROW)
        out[st.text(0)] = static_cast<std::uint64_t>(st.integer(1));
    return out;
}

std::vector<entry> sqlite_store::list(const list_filter& filter) {
    std::string sql = std::string("SELECT ") + columns +
                      " FROM suppression WHERE (?1 IS NULL OR reason = ?1) AND (?2 IS NULL OR "
                      "last_seen >= ?2) AND (?3 IS NULL OR address LIKE '%@' || ?3) AND (?4 IS "
                      "NULL OR kind = ?4) AND (?5 IS NULL OR source = ?5) AND (kind = 'hard' OR "
                      "last_seen >= ?6) ORDER BY last_seen DESC, address";
    if (filter.limit > 0)
        sql += " LIMIT " + std::to_string(filter.limit);
    std::vector<entry> out;
    statement st(db_, sql.c_str());
    if (!st.ok()) {
        fail("prepare list");
        return out;
    }
    if (filter.reason)
        st.bind(1, *filter.reason);
    if (filter.since)
        st.bind(2, *filter.since);
    if (filter.domain)
        st.bind(3, util::to_lower(*filter.domain));
    if (filter.severity)
        st.bind(4, to_string(*filter.severity));
    if (filter.origin)
        st.bind(5, to_string(*filter.origin));
    st.bind(6, soft_cutoff());
    while (st.step() == SQLITE_ROW)
        out.push_back(row_of(st));
    return out;
}

std::int64_t sqlite_store::soft_cutoff() const {
    if (soft_ttl_ <= 0)
        return 0;
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()
    )
                   .count();
    return now - soft_ttl_;
}

std::size_t sqlite_store::size() {
    statement st(db_, "SELECT count(*) FROM suppression");
    if (st.ok() && st.step() == SQLITE_ROW)
        return static_cast<std::size_t>(st.integer(0));
    return 0;
}

}  // namespace outpost::suppression
