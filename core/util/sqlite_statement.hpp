// SQLite the way our stores use it: opening with pragmas and schema, running SQL, and one
// prepared statement with binding and column reading, finalized (or, for a statement the caller
// caches, reset and unbound) when it goes out of scope. Header-only: the libraries that include
// it link SQLite themselves.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include <sqlite3.h>

namespace outpost::util {

class sqlite_statement {
public:
    sqlite_statement(sqlite3* db, const char* sql) {
        sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
    }

    // A statement prepared once into cached (which the caller finalizes when it closes the
    // database); this one only resets and unbinds it when it ends.
    sqlite_statement(sqlite3* db, sqlite3_stmt*& cached, const char* sql) : borrowed_(true) {
        if (!cached)
            sqlite3_prepare_v2(db, sql, -1, &cached, nullptr);
        stmt_ = cached;
    }

    sqlite_statement(const sqlite_statement&) = delete;
    sqlite_statement& operator=(const sqlite_statement&) = delete;

    ~sqlite_statement() {
        if (!borrowed_) {
            sqlite3_finalize(stmt_);
        } else if (stmt_) {
            sqlite3_reset(stmt_);
            sqlite3_clear_bindings(stmt_);
        }
    }

    bool ok() const { return stmt_ != nullptr; }

    void bind(int i, std::string_view text) {
        sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }

    template <std::integral T>
    void bind(int i, T value) {
        sqlite3_bind_int64(stmt_, i, static_cast<sqlite3_int64>(value));
    }

    template <std::floating_point T>
    void bind(int i, T value) {
        sqlite3_bind_double(stmt_, i, static_cast<double>(value));
    }

    int step() { return sqlite3_step(stmt_); }

    // Ready for another step with new bindings (a statement reused in a loop).
    void reset() { sqlite3_reset(stmt_); }

    std::string text(int i) const {
        const auto* p = sqlite3_column_text(stmt_, i);
        return p ? std::string(
                       reinterpret_cast<const char*>(p),
                       static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))
                   )
                 : std::string();
    }

    std::int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }

    double real(int i) const { return sqlite3_column_double(stmt_, i); }

private:
    sqlite3_stmt* stmt_ = nullptr;
    bool borrowed_ = false;
};

// Runs sql (one statement or several); false with the reason in *error when it fails.
inline bool sqlite_exec(sqlite3* db, const std::string& sql, std::string* error) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK)
        return true;
    if (error)
        *error = message ? message : "sqlite error";
    sqlite3_free(message);
    return false;
}

// Opens (or creates) the database at path, waits up to 5 s for another process's lock, and runs
// setup (pragmas, schema). nullptr, with "PATH: why" in *error, when any of it fails.
inline sqlite3* open_sqlite(const std::string& path, const std::string& setup, std::string* error) {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    std::string why;
    if (rc != SQLITE_OK)
        why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    else if (sqlite3_busy_timeout(db, 5000), !sqlite_exec(db, setup, &why))
        rc = SQLITE_ERROR;
    if (rc == SQLITE_OK)
        return db;
    if (error)
        *error = path + ": " + why;
    sqlite3_close(db);
    return nullptr;
}

}  // namespace outpost::util
