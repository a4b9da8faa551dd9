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
        " WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS tls_sessions (day TEXT NOT NULL, domain TEXT NOT NULL,"
        " policy_id TEXT NOT NULL, result TEXT NOT NULL, mx TEXT NOT NULL,"
        " receiving_ip TEXT NOT NULL, sending_ip TEXT NOT NULL, count INTEGER NOT NULL,"
        " PRIMARY KEY (day, domain, policy_id, result, mx, receiving_ip, sending_ip))"
        " WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS tls_session_policies (day TEXT NOT NULL, domain TEXT NOT NULL,"
        " policy_id TEXT NOT NULL, policy TEXT NOT NULL, PRIMARY KEY (day, domain, policy_id))"
        " WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS tls_reports (day TEXT NOT NULL, domain TEXT NOT NULL,"
        " outcome TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (day, domain)) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS tls_report_addresses (day TEXT NOT NULL, domain TEXT NOT NULL,"
        " address TEXT NOT NULL, PRIMARY KEY (day, domain, address)) WITHOUT ROWID;",
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
    prune_report_days(p.fetched);
    return true;
}

bool policy_cache::count_session(const tls_session& s) {
    stmt st(
        db_,
        "INSERT INTO tls_sessions (day, domain, policy_id, result, mx, receiving_ip, sending_ip,"
        " count) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + "
        "excluded.count"
    );
    st.bind(1, s.day);
    st.bind(2, s.domain);
    st.bind(3, s.policy_id);
    st.bind(4, s.result);
    st.bind(5, s.mx);
    st.bind(6, s.receiving_ip);
    st.bind(7, s.sending_ip);
    st.bind(8, s.count);
    if (st.step() != SQLITE_DONE)
        return false;
    if (!s.policy_text.empty()) {
        stmt keep(
            db_,
            "INSERT OR IGNORE INTO tls_session_policies (day, domain, policy_id, policy)"
            " VALUES (?, ?, ?, ?)"
        );
        keep.bind(1, s.day);
        keep.bind(2, s.domain);
        keep.bind(3, s.policy_id);
        keep.bind(4, s.policy_text);
        return keep.step() == SQLITE_DONE;
    }
    stmt keep(
        db_,
        "INSERT OR IGNORE INTO tls_session_policies (day, domain, policy_id, policy)"
        " SELECT ?, domain, id, policy FROM mta_sts WHERE domain = ? AND id = ?"
    );
    keep.bind(1, s.day);
    keep.bind(2, s.domain);
    keep.bind(3, s.policy_id);
    return keep.step() == SQLITE_DONE;
}

std::vector<tls_session> policy_cache::sessions(const std::string& day, const std::string& domain) {
    std::vector<tls_session> out;
    stmt st(
        db_,
        "SELECT day, domain, policy_id, result, mx, receiving_ip, sending_ip, count FROM "
        "tls_sessions WHERE day = ? AND (? = '' OR domain = ?) ORDER BY domain, policy_id, result,"
        " mx, receiving_ip, sending_ip"
    );
    st.bind(1, day);
    st.bind(2, domain);
    st.bind(3, domain);
    while (st.step() == SQLITE_ROW)
        out.push_back(
            {st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5), st.text(6),
             static_cast<std::uint64_t>(st.integer(7))}
        );
    return out;
}

std::vector<day_policy> policy_cache::day_policies(
    const std::string& day, const std::string& domain
) {
    std::vector<day_policy> out;
    stmt st(
        db_,
        "SELECT domain, policy_id, policy FROM tls_session_policies WHERE day = ? AND (? = '' OR "
        "domain = ?) ORDER BY domain, policy_id"
    );
    st.bind(1, day);
    st.bind(2, domain);
    st.bind(3, domain);
    while (st.step() == SQLITE_ROW)
        out.push_back({st.text(0), st.text(1), st.text(2)});
    return out;
}

std::vector<std::pair<std::string, std::string>> policy_cache::unreported(
    const std::string& from_day, const std::string& before_day
) {
    std::vector<std::pair<std::string, std::string>> out;
    stmt st(
        db_,
        "SELECT DISTINCT day, domain FROM tls_sessions s WHERE day >= ? AND day < ? AND NOT EXISTS"
        " (SELECT 1 FROM tls_reports r WHERE r.day = s.day AND r.domain = s.domain)"
        " ORDER BY day, domain"
    );
    st.bind(1, from_day);
    st.bind(2, before_day);
    while (st.step() == SQLITE_ROW)
        out.emplace_back(st.text(0), st.text(1));
    return out;
}

bool policy_cache::mark_reported(
    const std::string& day, const std::string& domain, const std::string& outcome, std::int64_t at
) {
    stmt st(
        db_, "INSERT OR REPLACE INTO tls_reports (day, domain, outcome, at) VALUES (?, ?, ?, ?)"
    );
    st.bind(1, day);
    st.bind(2, domain);
    st.bind(3, outcome);
    st.bind(4, at);
    if (st.step() != SQLITE_DONE)
        return false;
    prune_report_days(at);
    return true;
}

// Session counts and report marks are kept for a month and a bit: reports are about the last
// week. Done when a policy is stored or a report marked, so DANE-only days are pruned too.
void policy_cache::prune_report_days(std::int64_t now) {
    for (const char* sql :
         {"DELETE FROM tls_sessions WHERE day < date(?, 'unixepoch', '-35 days')",
          "DELETE FROM tls_session_policies WHERE day < date(?, 'unixepoch', '-35 days')",
          "DELETE FROM tls_reports WHERE day < date(?, 'unixepoch', '-35 days')",
          "DELETE FROM tls_report_addresses WHERE day < date(?, 'unixepoch', '-35 days')"}) {
        stmt old(db_, sql);
        old.bind(1, now);
        old.step();
    }
}

bool policy_cache::note_report_address(
    const std::string& day, const std::string& domain, const std::string& address
) {
    stmt st(
        db_, "INSERT OR IGNORE INTO tls_report_addresses (day, domain, address) VALUES (?, ?, ?)"
    );
    st.bind(1, day);
    st.bind(2, domain);
    st.bind(3, address);
    return st.step() == SQLITE_DONE;
}

std::set<std::string> policy_cache::report_addresses(
    const std::string& day, const std::string& domain
) {
    std::set<std::string> out;
    stmt st(db_, "SELECT address FROM tls_report_addresses WHERE day = ? AND domain = ?");
    st.bind(1, day);
    st.bind(2, domain);
    while (st.step() == SQLITE_ROW)
        out.insert(st.text(0));
    return out;
}

std::optional<std::string> policy_cache::reported(
    const std::string& day, const std::string& domain
) {
    stmt st(db_, "SELECT outcome FROM tls_reports WHERE day = ? AND domain = ?");
    st.bind(1, day);
    st.bind(2, domain);
    if (st.step() != SQLITE_ROW)
        return std::nullopt;
    return st.text(0);
}

std::vector<cached_policy> policy_cache::all() {
    std::vector<cached_policy> out;
    stmt st(db_, "SELECT domain, id, policy, fetched, expires FROM mta_sts ORDER BY domain");
    while (st.step() == SQLITE_ROW)
        out.push_back(row(st));
    return out;
}

}  // namespace outpost::tlspolicy
