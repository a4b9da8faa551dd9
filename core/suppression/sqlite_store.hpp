// The suppression store in SQLite (WAL mode), by default in the spool directory.
#pragma once

#include <memory>
#include <string>

#include "core/suppression/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace outpost::suppression {

class sqlite_store final : public store {
public:
    // Opens or creates the database at `path` (WAL journal, synchronous=FULL so a returned add()
    // survives a crash, 5 s busy timeout so the daemon and outpostctl can share it). nullptr, with
    // the reason in *error, when it cannot be opened or its schema cannot be created.
    static std::unique_ptr<sqlite_store> open(const std::string& path, std::string* error);

    // The database file name inside a spool directory.
    static constexpr const char* default_file = "suppression.sqlite";

    ~sqlite_store() override;
    sqlite_store(const sqlite_store&) = delete;
    sqlite_store& operator=(const sqlite_store&) = delete;

    bool add(const entry& e) override;
    bool add_all(std::span<const entry> entries) override;
    std::optional<entry> lookup(std::string_view address) override;
    bool remove(std::string_view address) override;
    std::map<std::string, std::uint64_t> removed_by_reason() override;
    std::vector<entry> list(const list_filter& filter) override;
    std::size_t size() override;

    std::string last_error() const override { return error_; }

    // Soft entries last seen longer ago than this are gone for lookup() and list(); 0: never.
    void set_soft_ttl(std::int64_t seconds) { soft_ttl_ = seconds; }

private:
    explicit sqlite_store(sqlite3* db) : db_(db) {}

    bool exec(const char* sql);
    // add() (import false: counted) or one row of add_all() (import true: merged).
    bool write(const entry& e, bool import);
    bool fail(const char* what);

    sqlite3* db_;
    // Prepared once: an import of a million rows spends its time in SQLite, not in the parser.
    sqlite3_stmt* insert_ = nullptr;
    sqlite3_stmt* lookup_ = nullptr;
    std::string error_;
    std::int64_t soft_ttl_ = 0;
    // Last seen before this, a soft entry has expired (0: none expires).
    std::int64_t soft_cutoff() const;
};

}  // namespace outpost::suppression
