#include "core/tlspolicy/sts_source.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/util/log.hpp"
#include "core/util/metrics.hpp"
#include "core/util/text.hpp"

namespace outpost::tlspolicy {

namespace asio = boost::asio;

sts_source::sts_source(
    dns::resolver& resolver, fetcher fetch, policy_cache* cache, std::function<std::int64_t()> now
)
    : resolver_(resolver), fetch_(std::move(fetch)), cache_(cache), now_(std::move(now)) {}

void sts_source::count_session(tls_session s) {
    if (!cache_)
        return;
    if (s.day.empty())
        s.day = util::utc_date(now_());
    if (!cache_->count_session(s))
        log::warn("tls_session_not_counted", {{"domain", s.domain}});
}

void sts_source::forget_stale() {
    // Domains without a policy in force whose TXT answer has run out: asked again next time.
    auto t = now_();
    std::erase_if(known_, [&](const auto& entry) {
        const auto& [domain, k] = entry;
        return (!k.policy || k.expires <= t) && k.txt_checked_until <= t &&
               !refreshing_.count(domain);
    });
}

std::optional<active_policy> sts_source::in_force(const known& k) const {
    if (!k.policy || k.expires <= now_() || k.policy->mode == sts_mode::none)
        return std::nullopt;
    return active_policy{*k.policy, k.id, k.expires};
}

asio::awaitable<std::optional<active_policy>> sts_source::policy_for(std::string domain) {
    if (known_.size() >= max_known)
        forget_stale();
    auto [it, fresh] = known_.try_emplace(domain);
    if (fresh && cache_)
        if (auto c = cache_->get(domain)) {
            auto p = parse_sts_policy(c->text);
            if (auto* ok = std::get_if<sts_policy>(&p)) {
                it->second.policy = *ok;
                it->second.id = c->id;
                it->second.fetched = c->fetched;
                it->second.expires = c->expires;
            }
        }
    bool waited = false;
    for (;;) {
        if (waited)
            break;  // another look-up's answer, whatever it was: no second wait
        if (auto r = refreshing_.find(domain); r != refreshing_.end()) {
            // Another batch is asking already: its answer is this one's too.
            auto timer = r->second;
            co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
            it = known_.find(domain);
            if (it == known_.end())
                co_return std::nullopt;
            waited = true;
            continue;
        }
        if (it->second.txt_checked_until > now_())
            break;
        auto timer = std::make_shared<asio::steady_timer>(
            co_await asio::this_coro::executor, asio::steady_timer::time_point::max()
        );
        refreshing_[domain] = timer;
        try {
            co_await refresh(domain, it->second);
        } catch (...) {
            refreshing_.erase(domain);
            timer->cancel();
            throw;
        }
        refreshing_.erase(domain);
        timer->cancel();
        break;
    }
    co_return in_force(it->second);
}

asio::awaitable<void> sts_source::refresh(const std::string& domain, known& k) {
    auto txt = co_await resolver_.txt("_mta-sts." + domain);
    auto t = now_();
    // Look again when the TXT answer's TTL runs out (at most an hour; a failure: in a minute).
    auto ttl = std::clamp<std::int64_t>(txt.ttl.count(), 0, 3600);
    k.txt_checked_until =
        t + (txt.ok() || txt.result == dns::status::nxdomain || txt.result == dns::status::nodata
                 ? ttl
                 : 60);
    auto id = sts_record_id(txt.records);
    if (auto* bad = std::get_if<parse_error>(&id))
        log::warn("mta_sts_record_invalid", {{"domain", domain}, {"error", bad->message}});
    auto* current = std::get_if<std::string>(&id);
    // No TXT record (or a broken one): the cached policy stays in force until it expires.
    if (!current)
        co_return;
    bool valid = k.policy && k.expires > t;
    // The same id: fetched again only once half its max_age (a day at most) has passed, so a
    // policy in use is renewed before it lapses (§5.1 lets an attacker who blocks the fetch at
    // expiry do nothing worse than keep the old one).
    auto renew_at = k.fetched + std::min<std::int64_t>((k.expires - k.fetched) / 2, 86400);
    if (valid && k.id == *current && t < renew_at)
        co_return;
    // A fetch that failed is not tried again for this id for five minutes (§3.3: a policy
    // host that fails or stalls must not cost every delivery a fetch).
    if (k.failed_id == *current && t < k.retry_fetch_at)
        co_return;
    auto body = co_await fetch_(domain);
    t = now_();
    auto failed = [&](std::string_view type, std::string_view event, const std::string& error) {
        util::metrics().mta_sts_failures.add(type);
        k.failed_id = *current;
        k.retry_fetch_at = t + 300;
        log::warn(
            event, {{"domain", domain},
                    {"id", *current},
                    {"error", error},
                    {"cached_policy", valid ? "kept" : "none"}}
        );
    };
    if (auto* error = std::get_if<fetch_error>(&body)) {
        failed(error->type, "mta_sts_fetch_failed", error->message);
        co_return;
    }
    auto text = std::get<std::string>(std::move(body));
    auto parsed = parse_sts_policy(text);
    if (auto* bad = std::get_if<parse_error>(&parsed)) {
        failed("sts-policy-invalid", "mta_sts_policy_invalid", bad->message);
        co_return;
    }
    const auto& policy = std::get<sts_policy>(parsed);
    k.policy = policy;
    k.id = *current;
    k.fetched = t;
    k.expires = t + policy.max_age;
    k.failed_id.clear();
    if (cache_ && !cache_->put({domain, k.id, std::move(text), k.fetched, k.expires}))
        log::warn("mta_sts_cache_write_failed", {{"domain", domain}});
    log::info(
        "mta_sts_policy", {{"domain", domain},
                           {"id", *current},
                           {"mode", to_string(policy.mode)},
                           {"max_age", policy.max_age}}
    );
}

}  // namespace outpost::tlspolicy
