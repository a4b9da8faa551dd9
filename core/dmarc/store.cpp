#include "core/dmarc/store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

namespace outpost::dmarc {

namespace {

const char* schema =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY, org TEXT NOT NULL,"
    " report_id TEXT NOT NULL, begin INTEGER NOT NULL, end INTEGER NOT NULL, domain TEXT NOT NULL,"
    " policy TEXT NOT NULL, received INTEGER NOT NULL, UNIQUE (org, report_id));"
    "CREATE INDEX IF NOT EXISTS reports_end ON reports (end);"
    "CREATE TABLE IF NOT EXISTS records (report INTEGER NOT NULL, source_ip TEXT NOT NULL,"
    " count INTEGER NOT NULL, disposition TEXT NOT NULL, dkim_aligned INTEGER NOT NULL,"
    " spf_aligned INTEGER NOT NULL, header_from TEXT NOT NULL, dkim_domain TEXT NOT NULL,"
    " dkim_result TEXT NOT NULL, spf_domain TEXT NOT NULL, spf_result TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS records_report ON records (report);"
    "CREATE INDEX IF NOT EXISTS records_source ON records (source_ip);";

class statement {
public:
    statement(sqlite3* db, const char* sql) {
        if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
            s_ = nullptr;
    }

    ~statement() { sqlite3_finalize(s_); }

    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    explicit operator bool() const { return s_ != nullptr; }

    void bind(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }

    void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }

    int step() { return sqlite3_step(s_); }

    std::string text(int i) {
        auto* p = sqlite3_column_text(s_, i);
        return p ? reinterpret_cast<const char*>(p) : "";
    }

    std::uint64_t number(int i) { return static_cast<std::uint64_t>(sqlite3_column_int64(s_, i)); }

    void reset() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }

private:
    sqlite3_stmt* s_ = nullptr;
};

}  // namespace

std::unique_ptr<store> store::open(const std::string& path, std::string* error) {
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK ||
        sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK) {
        if (error)
            *error = fmt::format("{}: {}", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return nullptr;
    }
    sqlite3_busy_timeout(db, 2000);
    return std::unique_ptr<store>(new store(db));
}

store::~store() {
    sqlite3_close(db_);
}

std::string store::last_error() const {
    return sqlite3_errmsg(db_);
}

store::added store::add(const report& r, std::int64_t received) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
        return added::failed;
    auto rollback = [this](added a) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return a;
    };
    statement report_row(
        db_,
        "INSERT OR IGNORE INTO reports (org, report_id, begin, end, domain, policy, received)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
    );
    if (!report_row)
        return rollback(added::failed);
    report_row.bind(1, r.org_name);
    report_row.bind(2, r.report_id);
    report_row.bind(3, r.begin);
    report_row.bind(4, r.end);
    report_row.bind(5, r.policy_domain);
    report_row.bind(6, r.policy);
    report_row.bind(7, received);
    if (report_row.step() != SQLITE_DONE)
        return rollback(added::failed);
    if (sqlite3_changes(db_) == 0)
        return rollback(added::duplicate);
    auto id = sqlite3_last_insert_rowid(db_);
    statement rec(
        db_,
        "INSERT INTO records (report, source_ip, count, disposition, dkim_aligned, spf_aligned,"
        " header_from, dkim_domain, dkim_result, spf_domain, spf_result)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    );
    if (!rec)
        return rollback(added::failed);
    for (const auto& x : r.records) {
        rec.bind(1, static_cast<std::int64_t>(id));
        rec.bind(2, x.source_ip);
        rec.bind(3, static_cast<std::int64_t>(x.count));
        rec.bind(4, x.disposition);
        rec.bind(5, static_cast<std::int64_t>(x.dkim_aligned));
        rec.bind(6, static_cast<std::int64_t>(x.spf_aligned));
        rec.bind(7, x.header_from.empty() ? r.policy_domain : x.header_from);
        rec.bind(8, x.dkim_domain);
        rec.bind(9, x.dkim_result);
        rec.bind(10, x.spf_domain);
        rec.bind(11, x.spf_result);
        if (rec.step() != SQLITE_DONE)
            return rollback(added::failed);
        rec.reset();
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
        return rollback(added::failed);
    return added::yes;
}

std::vector<source_row> store::sources(std::int64_t since, std::string_view domain) {
    statement q(
        db_,
        "SELECT r.header_from, r.source_ip, SUM(r.count), SUM(r.count * r.dkim_aligned),"
        " SUM(r.count * r.spf_aligned),"
        " SUM(CASE WHEN r.dkim_aligned OR r.spf_aligned THEN r.count ELSE 0 END)"
        " FROM records r JOIN reports p ON r.report = p.id"
        " WHERE p.end >= ? AND (? = '' OR r.header_from = ?)"
        " GROUP BY r.header_from, r.source_ip ORDER BY 3 DESC, 1, 2"
    );
    std::vector<source_row> rows;
    if (!q)
        return rows;
    q.bind(1, since);
    q.bind(2, domain);
    q.bind(3, domain);
    while (q.step() == SQLITE_ROW)
        rows.push_back({q.text(0), q.text(1), {q.number(2), q.number(3), q.number(4), q.number(5)}}
        );
    return rows;
}

std::vector<reporter_row> store::reporters(std::int64_t since, std::string_view domain) {
    statement q(
        db_,
        "SELECT r.header_from, p.org, SUM(r.count) FROM records r JOIN reports p"
        " ON r.report = p.id WHERE p.end >= ? AND (? = '' OR r.header_from = ?)"
        " GROUP BY r.header_from, p.org ORDER BY 1, 3 DESC, 2"
    );
    std::vector<reporter_row> rows;
    if (!q)
        return rows;
    q.bind(1, since);
    q.bind(2, domain);
    q.bind(3, domain);
    while (q.step() == SQLITE_ROW)
        rows.push_back({q.text(0), q.text(1), q.number(2)});
    return rows;
}

std::vector<store::ip_day> store::ip_days(std::string_view ip, std::int64_t since) {
    statement q(
        db_,
        "SELECT p.end, SUM(r.count), SUM(r.count * r.dkim_aligned), SUM(r.count * r.spf_aligned),"
        " SUM(CASE WHEN r.dkim_aligned OR r.spf_aligned THEN r.count ELSE 0 END)"
        " FROM records r JOIN reports p ON r.report = p.id"
        " WHERE r.source_ip = ? AND p.end >= ? GROUP BY p.end ORDER BY p.end"
    );
    std::vector<ip_day> days;
    if (!q)
        return days;
    q.bind(1, ip);
    q.bind(2, since);
    while (q.step() == SQLITE_ROW)
        days.push_back(
            {static_cast<std::int64_t>(q.number(0)),
             {q.number(1), q.number(2), q.number(3), q.number(4)}}
        );
    return days;
}

std::uint64_t store::reports(std::int64_t since) {
    statement q(db_, "SELECT COUNT(*) FROM reports WHERE end >= ?");
    if (!q)
        return 0;
    q.bind(1, since);
    return q.step() == SQLITE_ROW ? q.number(0) : 0;
}

}  // namespace outpost::dmarc
