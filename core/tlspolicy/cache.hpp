// The MTA-STS policies we have fetched, kept in SQLite (spool_dir/mta-sts.sqlite) so that a
// restart keeps enforcing them (RFC 8461 §5.1: a policy is valid until its max_age runs out,
// whatever DNS and HTTPS say meanwhile). outpostctl reads the same file with the daemon down.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
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

// One TLS session delivery had with an MX of a domain whose MTA-STS policy was in force, as
// TLS-RPT (RFC 8460) counts them: per UTC day, policy, result and the hosts involved.
struct tls_session {
    std::string day;     // YYYY-MM-DD, UTC
    std::string domain;  // the policy domain
    std::string policy_id;
    std::string result;        // empty: successful; else an RFC 8460 result type (or mx-mismatch)
    std::string mx;            // receiving-mx-hostname
    std::string receiving_ip;  // empty when no connection was made
    std::string sending_ip;    // empty: the system chose
    std::uint64_t count = 1;
    // The policy's text for the day's report, when it is not a cached MTA-STS policy (DANE: the
    // TLSA records); empty: looked up in the MTA-STS cache by domain and policy_id.
    std::string policy_text = {};
};

// A policy as it was on a day sessions were counted under it.
struct day_policy {
    std::string domain;
    std::string id;
    std::string text;
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

    // Adds s.count to its row (and keeps the policy's text for the day's report).
    bool count_session(const tls_session& s);
    // The day's sessions and policies, of one domain or (empty) all.
    std::vector<tls_session> sessions(const std::string& day, const std::string& domain);
    std::vector<day_policy> day_policies(const std::string& day, const std::string& domain);

    // The (day, domain) pairs with sessions on days in [from_day, before_day) whose report is
    // not yet marked; oldest first.
    std::vector<std::pair<std::string, std::string>> unreported(
        const std::string& from_day, const std::string& before_day
    );
    // The report for day and domain is done: sent (outcome names the queue id) or not wanted
    // (no rua). A report marked is never sent again.
    bool mark_reported(
        const std::string& day,
        const std::string& domain,
        const std::string& outcome,
        std::int64_t at
    );
    std::optional<std::string> reported(const std::string& day, const std::string& domain);
    // The rua addresses that already have a final answer for day's report of domain, so that a
    // retry goes to the others only.
    bool note_report_address(
        const std::string& day, const std::string& domain, const std::string& address
    );
    std::set<std::string> report_addresses(const std::string& day, const std::string& domain);

private:
    explicit policy_cache(sqlite3* db) : db_(db) {}

    void prune_report_days(std::int64_t now);

    sqlite3* db_;
};

}  // namespace outpost::tlspolicy
