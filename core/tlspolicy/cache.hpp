// The MTA-STS policies we have fetched, kept in SQLite (spool_dir/mta-sts.sqlite) so that a
// restart keeps enforcing them (RFC 8461 §5.1: a policy is valid until its max_age runs out,
// whatever DNS and HTTPS say meanwhile). outpostctl reads the same file with the daemon down.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace outpost::tlspolicy {

struct cached_policy {
    std::string domain;  // lower case
    std::string id;      // the TXT record's id when it was fetched
    std::string text;    // the policy file as fetched
    std::int64_t fetched = 0;
    std::int64_t expires = 0;  // fetched + max_age
};

class policy_cache {
public:
    static constexpr const char* default_file = "mta-sts.sqlite";

    // Opens (creating) the file; nullptr and *error when it cannot.
    static std::unique_ptr<policy_cache> open(const std::string& path, std::string* error);
    ~policy_cache();
    policy_cache(const policy_cache&) = delete;
    policy_cache& operator=(const policy_cache&) = delete;

    std::optional<cached_policy> get(const std::string& domain);
    bool put(const cached_policy& p);
    std::vector<cached_policy> all();

private:
    explicit policy_cache(sqlite3* db) : db_(db) {}

    sqlite3* db_;
};

}  // namespace outpost::tlspolicy
