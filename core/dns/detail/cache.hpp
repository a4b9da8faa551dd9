// A TTL cache of DNS answers: pure (the caller passes `now`), bounded in entries and in TTL.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/dns/resolver.hpp"

namespace outpost::dns::detail {

struct cache_limits {
    std::size_t max_entries = 10000;
    std::chrono::seconds max_ttl{86400};          // one day, whatever the zone says
    std::chrono::seconds max_negative_ttl{3600};  // RFC 2308 §5 suggests one to three hours
};

// Answers of one record type keyed by lower-case name. Positive answers are kept for their TTL,
// NXDOMAIN and NODATA for their SOA-derived TTL (RFC 2308), both capped by the limits. Temporary
// failures (SERVFAIL, timeouts, errors) are never kept: the next look-up must ask again.
template <class T>
class answer_cache {
public:
    using time_point = std::chrono::steady_clock::time_point;

    explicit answer_cache(cache_limits limits = {}) : limits_(limits) {}

    // The answer stored for key, with its TTL lowered by the time it spent here; nullopt when
    // there is none or it has expired.
    std::optional<answer<T>> get(const std::string& key, time_point now) const {
        auto it = entries_.find(key);
        if (it == entries_.end() || it->second.expires <= now)
            return std::nullopt;
        answer<T> a = it->second.value;
        // Round up, so an entry with 0.4 s left does not claim TTL 0 ("do not cache").
        auto left = it->second.expires - now;
        a.ttl = std::chrono::ceil<std::chrono::seconds>(left);
        return a;
    }

    // Stores a if it may be cached (see the class comment); an entry with TTL 0 is not stored.
    // When the cache is full, expired entries go first, then the one closest to expiry.
    void put(const std::string& key, const answer<T>& a, time_point now) {
        std::chrono::seconds ttl{0};
        switch (a.result) {
            case status::ok:
                ttl = std::min(a.ttl, limits_.max_ttl);
                break;
            case status::nxdomain:
            case status::nodata:
                ttl = std::min(a.ttl, limits_.max_negative_ttl);
                break;
            default:
                return;
        }
        if (ttl <= std::chrono::seconds(0) || limits_.max_entries == 0)
            return;
        erase(key);
        purge(now);
        while (entries_.size() >= limits_.max_entries)
            erase(by_expiry_.begin()->second);
        auto expires = now + ttl;
        auto [it, inserted] = entries_.emplace(key, entry{a, expires});
        it->second.value.ttl = ttl;
        it->second.position = by_expiry_.emplace(expires, key);
    }

    // Drops every entry that has expired by now.
    void purge(time_point now) {
        while (!by_expiry_.empty() && by_expiry_.begin()->first <= now)
            erase(by_expiry_.begin()->second);
    }

    std::size_t size() const { return entries_.size(); }

private:
    using expiry_index = std::multimap<time_point, std::string>;

    struct entry {
        answer<T> value;
        time_point expires;
        typename expiry_index::iterator position{};
    };

    void erase(std::string key) {  // by value: callers pass keys owned by by_expiry_
        auto it = entries_.find(key);
        if (it == entries_.end())
            return;
        by_expiry_.erase(it->second.position);
        entries_.erase(it);
    }

    cache_limits limits_;
    std::unordered_map<std::string, entry> entries_;
    expiry_index by_expiry_;
};

}  // namespace outpost::dns::detail
