#include "core/tlspolicy/sts_source.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/util/log.hpp"

namespace outpost::tlspolicy {

namespace asio = boost::asio;

sts_source::sts_source(
    dns::resolver& resolver, fetcher fetch, policy_cache* cache, std::function<std::int64_t()> now
)
    : resolver_(resolver), fetch_(std::move(fetch)), cache_(cache), now_(std::move(now)) {}

void sts_source::forget_stale() {
    // Domains without a policy whose TXT answer has run out: asked again next time anyway.
    auto t = now_();
    std::erase_if(known_, [&](const auto& entry) {
        const auto& [domain, k] = entry;
        return !k.cached && k.txt_checked_until <= t && !refreshing_.count(domain);
    });
}

std::optional<active_policy> sts_source::in_force(const known& k) const {
    if (!k.cached || !k.parsed || k.cached->expires <= now_() || k.parsed->mode == sts_mode::none)
        return std::nullopt;
    return active_policy{*k.parsed, k.cached->id, k.cached->expires};
}

asio::awaitable<std::optional<active_policy>> sts_source::policy_for(std::string domain) {
    if (known_.size() >= max_known)
        forget_stale();
    auto [it, fresh] = known_.try_emplace(domain);
    if (fresh && cache_)
        if (auto c = cache_->get(domain)) {
            auto p = parse_sts_policy(c->text);
            if (auto* ok = std::get_if<sts_policy>(&p)) {
                it->second.cached = std::move(*c);
                it->second.parsed = *ok;
            }
        }
    while (it->second.txt_checked_until <= now_()) {
        if (auto r = refreshing_.find(domain); r != refreshing_.end()) {
            // Another batch is asking already: its answer is this one's.
            auto timer = r->second;
            co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
            it = known_.find(domain);
            if (it == known_.end())
                co_return std::nullopt;
            if (it->second.txt_checked_until <= now_())
                break;  // the other look-up learnt nothing lasting: use what there is
            continue;
        }
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
    bool valid = k.cached && k.cached->expires > t;
    // No TXT record (or a broken one): the cached policy stays in force until it expires.
    if (!current || (valid && k.cached->id == *current))
        co_return;
    auto body = co_await fetch_(domain);
    t = now_();
    if (auto* failed = std::get_if<fetch_error>(&body)) {
        log::warn(
            "mta_sts_fetch_failed", {{"domain", domain},
                                     {"id", *current},
                                     {"error", failed->message},
                                     {"cached_policy", valid ? "kept" : "none"}}
        );
        co_return;
    }
    auto text = std::get<std::string>(std::move(body));
    auto parsed = parse_sts_policy(text);
    if (auto* bad = std::get_if<parse_error>(&parsed)) {
        log::warn(
            "mta_sts_policy_invalid",
            {{"domain", domain}, {"id", *current}, {"error", bad->message}}
        );
        co_return;
    }
    const auto& policy = std::get<sts_policy>(parsed);
    k.parsed = policy;
    k.cached = cached_policy{domain, *current, std::move(text), t, t + policy.max_age};
    if (cache_ && !cache_->put(*k.cached))
        log::warn("mta_sts_cache_write_failed", {{"domain", domain}});
    log::info(
        "mta_sts_policy", {{"domain", domain},
                           {"id", *current},
                           {"mode", to_string(policy.mode)},
                           {"max_age", policy.max_age}}
    );
}

}  // namespace outpost::tlspolicy
