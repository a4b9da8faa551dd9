// The TLS side of a delivery batch: DANE for MX hosts with DNSSEC-validated TLSA records, the
// recipient domain's MTA-STS policy for the others, what the TLS checks found (metrics, logs,
// TLS-RPT session counts), and the TLS policy named on delivery lines.
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/queue/delivery_batch.hpp"
#include "core/queue/runner.hpp"
#include "core/util/log.hpp"
#include "core/util/metrics.hpp"
#include "core/util/text.hpp"

namespace outpost::queue {

namespace asio = boost::asio;

delivery::tls_policy delivery_batch::configured_tls() const {
    auto policy = configured_tls_name();
    if (policy == "none")
        return delivery::tls_policy::none;
    if (policy == "required")
        return delivery::tls_policy::required;
    if (policy == "verify")
        return delivery::tls_policy::verify;
    if (policy == "dane")
        return delivery::tls_policy::required;  // only DANE hosts remain; never in the clear
    return delivery::tls_policy::opportunistic;
}

asio::awaitable<void> delivery_batch::apply_mta_sts() {
    mta_sts_ = co_await r_.sts_->policy_for(util::to_lower(destination_));
    if (!mta_sts_)
        co_return;
    std::vector<delivery::target> listed;
    std::vector<std::string> unlisted;
    for (const auto& t : targets_)
        // RFC 8461 §2: an MX host DANE authenticates is checked by DANE, not by the policy.
        if ((t.dane && !t.tlsa.empty()) || tlspolicy::mx_allowed(mta_sts_->policy, t.host))
            listed.push_back(t);
        else if (std::find(unlisted.begin(), unlisted.end(), t.host) == unlisted.end())
            unlisted.push_back(t.host);
    if (unlisted.empty())
        co_return;
    auto why = fmt::format(
        "MTA-STS {} for {}: MX {} does not match the policy's mx ({})",
        tlspolicy::to_string(mta_sts_->policy.mode), destination_, fmt::join(unlisted, ", "),
        fmt::join(mta_sts_->policy.mx, ", ")
    );
    log::warn(
        "mta_sts_policy_failure", {{"destination", destination_},
                                   {"mode", tlspolicy::to_string(mta_sts_->policy.mode)},
                                   {"policy_id", mta_sts_->id},
                                   {"failure", why}}
    );
    util::metrics().mta_sts_failures.add("mx-mismatch");
    if (mta_sts_->policy.mode != tlspolicy::sts_mode::enforce)
        co_return;  // testing: delivered as without a policy, to every MX (its sessions counted)
    // Enforce: each MX left out is a session that failed before it began.
    for (const auto& host : unlisted)
        r_.sts_->count_session(
            {{}, util::to_lower(destination_), mta_sts_->id, "mx-mismatch", host, {}, {}, 1}
        );
    targets_ = std::move(listed);
    if (targets_.empty())
        route_failure_ = route_failure{"4.7.5", why, false};
}

asio::awaitable<void> delivery_batch::apply_dane() {
    for (const auto& t : targets_) {
        if (!t.authenticated || dane_.count(t.host))
            continue;
        auto answer = co_await r_.resolver_.tlsa(tlspolicy::tlsa_name(t.host, t.endpoint.port()));
        auto decision = tlspolicy::decide_dane(t.host, true, answer);
        if (decision.state != tlspolicy::dane_state::none)
            log::info(
                "dane", {{"destination", destination_},
                         {"mx", t.host},
                         {"state", tlspolicy::to_string(decision.state)},
                         {"tlsa", util::trim(tlspolicy::tlsa_text(decision.usable))},
                         {"detail", decision.why}}
            );
        if (decision.state == tlspolicy::dane_state::lookup_failed) {
            util::metrics().dane_failures.add("tlsa-lookup");
            // RFC 8460 §4.3.2.1: no valid records came from the resolver.
            if (r_.sts_)
                r_.sts_->count_session(
                    {{},
                     util::to_lower(destination_),
                     tlspolicy::dane_policy_id(t.host),
                     "dnssec-invalid",
                     t.host,
                     {},
                     {},
                     1}
                );
        }
        dane_.emplace(t.host, std::move(decision));
    }
    bool required = configured_tls_name() == "dane";
    std::vector<delivery::target> kept;
    std::string why;
    for (auto t : targets_) {
        auto it = dane_.find(t.host);
        auto state = it == dane_.end() ? tlspolicy::dane_state::none : it->second.state;
        if (state == tlspolicy::dane_state::lookup_failed) {
            why = it->second.why;
            continue;
        }
        if (state == tlspolicy::dane_state::none) {
            if (required)
                why = fmt::format(
                    "DANE required for {}, but MX {} has no DNSSEC-validated TLSA records",
                    destination_, t.host
                );
            else
                kept.push_back(std::move(t));
            continue;
        }
        t.dane = true;
        t.tlsa = it->second.usable;
        kept.push_back(std::move(t));
    }
    targets_ = std::move(kept);
    if (targets_.empty())
        route_failure_ = route_failure{required ? "4.7.5" : "4.4.3", why, false};
}

// One connection under a policy (DANE for its host, else the domain's MTA-STS): a TLS session
// counted for TLS-RPT; a failed check counted in the metrics and, under MTA-STS testing (where
// nothing stops the delivery), logged as the policy's failure (otherwise the deferral's reply
// says it).
void delivery_batch::note_tls_session(const delivery::attempt& a) {
    if (!a.tls_session)
        return;
    auto dane = dane_.find(a.host);
    bool by_dane = dane != dane_.end() && dane->second.state != tlspolicy::dane_state::none;
    if (!by_dane && !mta_sts_)
        return;  // an MTA-STS check that did not apply to this host
    if (!a.tls_failure_type.empty()) {
        if (by_dane)
            util::metrics().dane_failures.add(a.tls_failure_type);
        else
            util::metrics().mta_sts_failures.add(a.tls_failure_type);
        if (!by_dane && mta_sts_->policy.mode == tlspolicy::sts_mode::testing)
            log::warn(
                "mta_sts_policy_failure", {{"destination", destination_},
                                           {"mode", "testing"},
                                           {"policy_id", mta_sts_->id},
                                           {"type", a.tls_failure_type},
                                           {"failure", a.tls_failure}}
            );
    }
    // "192.0.2.1:25", "[2001:db8::1]:25": the address without its port.
    auto ip = a.address.substr(0, a.address.rfind(':'));
    if (ip.size() > 1 && ip.front() == '[')
        ip = ip.substr(1, ip.size() - 2);
    auto sending_ip = sending_from_ && *sending_from_ < cfg_.source_ips.size()
                          ? cfg_.source_ips[*sending_from_].address.to_string()
                          : std::string();
    tlspolicy::tls_session s{
        {}, util::to_lower(destination_), {}, a.tls_failure_type, a.host, ip, sending_ip, 1};
    if (by_dane) {
        // RFC 8460 §4.4: a "tlsa" policy is the host's TLSA records.
        s.policy_id = tlspolicy::dane_policy_id(a.host);
        s.policy_text = tlspolicy::tlsa_text(dane->second.usable);
    } else {
        s.policy_id = mta_sts_->id;
    }
    if (r_.sts_)
        r_.sts_->count_session(std::move(s));
}

std::string delivery_batch::configured_tls_name() const {
    std::string policy = cfg_.delivery.tls;
    for (const auto& d : cfg_.domains)
        if (util::iequals(d.domain, destination_) && !d.tls.empty())
            policy = d.tls;
    return route_tls_.empty() ? policy : route_tls_;
}

std::string delivery_batch::tls_policy_name(const std::string& host) const {
    if (auto it = dane_.find(host);
        it != dane_.end() && it->second.state != tlspolicy::dane_state::none)
        return "dane";
    if (mta_sts_ && mta_sts_->policy.mode == tlspolicy::sts_mode::enforce)
        return "mta-sts";
    if (mta_sts_ && mta_sts_->policy.mode == tlspolicy::sts_mode::testing)
        return "mta-sts-testing";
    return delivery::to_string(configured_tls());
}

}  // namespace outpost::queue
