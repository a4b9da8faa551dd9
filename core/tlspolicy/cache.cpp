#include "core/tlspolicy/cache.hpp"

#include <sqlite3.h>

#include "core/util/sqlite_statement.hpp"

namespace outpost::tlspolicy {

namespace {

using stmt = util::sqlite_statement;

cached_policy row(const stmt& st) {
    return {st.text(0), st.text(1), st.text(2), st.integer(3), st.integer(4)};
}

}  // namespace

std::unique_ptr<policy_cache> policy_cache::open(const std::string& path, std::string* error) {
    auto* db = util::open_sqlite(
        path,
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS mta_sts (domain TEXT PRIMARY KEY, id TEXT NOT NULL,"
        " policy TEXT NOT NULL, fetched INTEGER NOT NULL, expires INTEGER NOT NULL)"
        " WITHOUT ROWID;",
        error
    );
    if (!db)
        return nullptr;
    return std::unique_ptr<policy_cache>(new policy_cache(db));
}

policy_cache::~policy_cache() {
    sqlite3_close(db_);
}

std::optional<cached_policy> policy_cache::get(const std::string& domain) {
    stmt st(db_, "SELECT domain, id, policy, fetched, expires FROM mta_sts WHERE domain = ?");
    st.bind(1, domain);
    if (st.step() != SQLITE_ROW)
        return std::nullopt;
    return row(st);
}

bool policy_cache::put(const cached_policy& p) {
    stmt st(
        db_,
        "INSERT OR REPLACE INTO mta_sts (domain, id, policy, fetched, expires) VALUES (?, ?, ?, ?, "
        "?)"
    );
    st.bind(1, p.domain);
    st.bind(2, p.id);
    st.bind(3, p.text);
    st.bind(4, p.fetched);
    st.bind(5, p.expires);
    if (st.step() != SQLITE_DONE)
        return false;
    // Policies a day past their expiry are of no use (an expired one is fetched again anyway).
    stmt prune(db_, "DELETE FROM mta_sts WHERE expires < ?");
    prune.bind(1, p.fetched - 86400);
    prune.step();
    return true;
}

std::vector<cached_policy> policy_cache::all() {
    std::vector<cached_policy> out;
    stmt st(db_, "SELECT domain, id, policy, fetched, expires FROM mta_sts ORDER BY domain");
    while (st.step() == SQLITE_ROW)
        out.push_back(row(st));
    return out;
}

}  // namespace outpost::tlspolicy
