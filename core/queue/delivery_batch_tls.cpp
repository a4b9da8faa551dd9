// The TLS side of a delivery batch: the recipient domain's MTA-STS policy applied to its MX
// hosts, what the TLS checks found (metrics, logs, TLS-RPT session counts), and the TLS policy
// named on delivery lines.
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
    std::string policy = cfg_.delivery.tls;
    for (const auto& d : cfg_.domains)
        if (util::iequals(d.domain, destination_) && !d.tls.empty())
            policy = d.tls;
    if (policy == "none")
        return delivery::tls_policy::none;
    if (policy == "required")
        return delivery::tls_policy::required;
    if (policy == "verify")
        return delivery::tls_policy::verify;
    return delivery::tls_policy::opportunistic;
}

asio::awaitable<void> delivery_batch::apply_mta_sts() {
    mta_sts_ = co_await r_.sts_->policy_for(util::to_lower(destination_));
    if (!mta_sts_)
        co_return;
    std::vector<delivery::target> listed;
    std::vector<std::string> unlisted;
    for (const auto& t : targets_)
        if (tlspolicy::mx_allowed(mta_sts_->policy, t.host))
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

// One connection under an MTA-STS policy: a TLS session counted for TLS-RPT; a failed check
// counted in the metrics and, under testing (where nothing stops the delivery), logged as the
// policy's failure (under enforce the deferral's reply says it).
void delivery_batch::note_tls_session(const delivery::attempt& a) {
    if (!a.tls_session)
        return;
    if (!a.tls_failure_type.empty()) {
        util::metrics().mta_sts_failures.add(a.tls_failure_type);
        if (mta_sts_->policy.mode == tlspolicy::sts_mode::testing)
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
    r_.sts_->count_session(
        {{},
         util::to_lower(destination_),
         mta_sts_->id,
         a.tls_failure_type,
         a.host,
         ip,
         sending_ip,
         1}
    );
}

std::string delivery_batch::tls_policy_name() const {
    if (mta_sts_ && mta_sts_->policy.mode == tlspolicy::sts_mode::enforce)
        return "mta-sts";
    if (mta_sts_ && mta_sts_->policy.mode == tlspolicy::sts_mode::testing)
        return "mta-sts-testing";
    return delivery::to_string(configured_tls());
}

}  // namespace outpost::queue
