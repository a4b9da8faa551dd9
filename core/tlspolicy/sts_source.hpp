// The MTA-STS policy in force for a recipient domain (RFC 8461 §5): the TXT record's id says
// whether the cached policy is current; a new id, or a cached policy past its max_age, is fetched
// again; when DNS or HTTPS fail, an unexpired cached policy stays in force, and without one the
// domain has no policy. Concurrent look-ups of one domain share one fetch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/dns/resolver.hpp"
#include "core/tlspolicy/cache.hpp"
#include "core/tlspolicy/fetch.hpp"
#include "core/tlspolicy/mta_sts.hpp"

namespace outpost::tlspolicy {

struct active_policy {
    sts_policy policy;
    std::string id;
    std::int64_t expires = 0;
};

class sts_source {
public:
    // Fetches the policy file of a domain (fetch_sts_policy, in the daemon).
    using fetcher = std::function<
        boost::asio::awaitable<std::variant<std::string, fetch_error>>(std::string domain)>;

    // cache may be null (nothing kept across restarts); now gives unix seconds.
    sts_source(
        dns::resolver& resolver,
        fetcher fetch,
        policy_cache* cache,
        std::function<std::int64_t()> now
    );

    // The policy for domain (lower case), or nullopt when it has none (or mode none).
    boost::asio::awaitable<std::optional<active_policy>> policy_for(std::string domain);

    // A TLS session under a domain's policy, counted for TLS-RPT on today's UTC date (when there
    // is a cache to count in).
    void count_session(tls_session s);

private:
    struct known {
        std::optional<sts_policy> policy;  // the last fetched (in memory without its text)
        std::string id;
        std::int64_t fetched = 0;
        std::int64_t expires = 0;
        std::int64_t txt_checked_until = 0;  // the TXT answer's TTL: no new look-up before then
        std::string failed_id;               // a fetch for this id failed...
        std::int64_t retry_fetch_at = 0;     // ... and is not tried again before then
    };

    boost::asio::awaitable<void> refresh(const std::string& domain, known& k);
    void forget_stale();

    // Memory stays bounded with many recipient domains: past this many, the stale are dropped.
    static constexpr std::size_t max_known = 10000;
    std::optional<active_policy> in_force(const known& k) const;

    dns::resolver& resolver_;
    fetcher fetch_;
    policy_cache* cache_;
    std::function<std::int64_t()> now_;
    std::map<std::string, known> known_;
    std::map<std::string, std::shared_ptr<boost::asio::steady_timer>> refreshing_;
};

}  // namespace outpost::tlspolicy
