// DMARC aggregate report records in SQLite (spool_dir/dmarc.sqlite, WAL): one row per report,
// deduplicated by reporting organisation and report id, and its records; and the sums the
// operator reads (`outpostctl dmarc summary|sources`) and the warming health reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/dmarc/report.hpp"

struct sqlite3;

namespace outpost::dmarc {

inline constexpr const char* default_file = "dmarc.sqlite";

// Messages a set of records counts, and how many of them passed what.
struct tally {
    std::uint64_t messages = 0;
    std::uint64_t dkim_aligned = 0;
    std::uint64_t spf_aligned = 0;
    std::uint64_t dmarc_pass = 0;  // DKIM or SPF aligned
};

struct source_row {
    std::string domain;  // header_from
    std::string source_ip;
    tally counts;
};

struct reporter_row {
    std::string domain;
    std::string org_name;
    std::uint64_t messages = 0;
};

class store {
public:
    // nullptr with *error set when the file cannot be opened or set up.
    static std::unique_ptr<store> open(const std::string& path, std::string* error);
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    enum class added { yes, duplicate, failed };
    added add(const report& r, std::int64_t received);

    // Per header_from domain and source IP, over reports whose range ends at or after since;
    // domain "" for every domain. Most messages first.
    std::vector<source_row> sources(std::int64_t since, std::string_view domain);
    // Per header_from domain, the organisations that reported most messages.
    std::vector<reporter_row> reporters(std::int64_t since, std::string_view domain);
    std::uint64_t reports(std::int64_t since);

    // The records about one source IP, summed per report period end (unix seconds), over reports
    // that ended at or after since.
    struct ip_day {
        std::int64_t end = 0;
        tally counts;
    };

    std::vector<ip_day> ip_days(std::string_view ip, std::int64_t since);

    std::string last_error() const;

private:
    explicit store(sqlite3* db) : db_(db) {}

    sqlite3* db_;
};

}  // namespace outpost::dmarc
