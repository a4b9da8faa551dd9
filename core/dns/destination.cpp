// resolve_destination: MX plan, then each host's addresses, in delivery order.
#include "core/dns/destination.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace outpost::dns {

namespace {

bool temporary(status s) {
    return s == status::servfail || s == status::timeout || s == status::error;
}

route_result failure(outcome o, std::string enhanced, std::string text) {
    route_result r;
    r.result = o;
    r.enhanced = std::move(enhanced);
    r.text = std::move(text);
    return r;
}

}  // namespace

boost::asio::awaitable<route_result> resolve_destination(
    resolver& r, std::string domain, random_index pick, route_options options
) {
    auto mx = co_await r.mx(domain);
    auto plan = plan_mx(mx, domain, pick);
    if (plan.result != outcome::ok)
        co_return failure(plan.result, std::move(plan.enhanced), std::move(plan.text));
    if (plan.hosts.size() > options.max_hosts)
        plan.hosts.resize(options.max_hosts);

    route_result out;
    out.implicit = plan.implicit;
    std::set<boost::asio::ip::address> seen;
    bool lookup_failed = false;
    status last = status::nodata;
    for (auto& host : plan.hosts) {
        // One host at a time: most domains have one or two MX hosts and the answers are cached,
        // so parallel look-ups would buy little and make the failure rules harder to follow.
        auto a = co_await r.address(host.host);
        if (!a.ok()) {
            lookup_failed = lookup_failed || temporary(a.result);
            last = a.result;
            continue;
        }
        destination_host h{std::move(host.host), host.preference, {}};
        h.authenticated = mx.authenticated && a.authenticated;
        auto first_family = [&](const boost::asio::ip::address& x) {
            return x.is_v6() == options.prefer_ipv6;
        };
        std::stable_partition(a.records.begin(), a.records.end(), first_family);
        for (auto& ip : a.records) {
            if (seen.insert(ip).second)
                h.addresses.push_back(ip);
        }
        if (!h.addresses.empty())
            out.hosts.push_back(std::move(h));
    }
    if (!out.hosts.empty()) {
        out.result = outcome::ok;
        co_return out;
    }

    if (plan.implicit) {
        if (temporary(last)) {
            co_return failure(
                outcome::temporary, "4.4.3",
                fmt::format("DNS failure looking up the address of {}: {}", domain, to_string(last))
            );
        }
        co_return failure(
            outcome::permanent, "5.1.2",
            fmt::format("domain {} has no MX and no address records", domain)
        );
    }
    if (lookup_failed) {
        co_return failure(
            outcome::temporary, "4.4.3",
            fmt::format("DNS failure looking up the addresses of the MX hosts of {}", domain)
        );
    }
    co_return failure(
        outcome::temporary, "4.4.4", fmt::format("no MX host of {} has an address", domain)
    );
}

}  // namespace outpost::dns
