// MX selection per RFC 5321 §5.1 and RFC 7505; pure apart from make_random_index's seeding.
#include "core/dns/mx_plan.hpp"

#include <algorithm>
#include <memory>
#include <random>
#include <set>

#include <fmt/format.h>

namespace outpost::dns {

const char* to_string(outcome o) {
    switch (o) {
        case outcome::ok:
            return "ok";
        case outcome::temporary:
            return "temporary";
        case outcome::permanent:
            return "permanent";
    }
    return "temporary";
}

random_index make_random_index(std::uint64_t seed) {
    auto engine = std::make_shared<std::mt19937_64>(seed);
    return [engine](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(*engine);
    };
}

random_index make_random_index() {
    std::random_device device;
    return make_random_index((std::uint64_t{device()} << 32) | device());
}

namespace {

mx_plan failure(outcome o, std::string enhanced, std::string text) {
    mx_plan p;
    p.result = o;
    p.enhanced = std::move(enhanced);
    p.text = std::move(text);
    return p;
}

// Fisher-Yates over [first, last) with the injected source.
void shuffle(
    std::vector<mx_record>::iterator first,
    std::vector<mx_record>::iterator last,
    const random_index& pick
) {
    auto n = static_cast<std::size_t>(last - first);
    for (std::size_t i = n; i > 1; --i) {
        std::size_t j = pick(i) % i;  // a misbehaving source must not index out of range
        std::swap(first[static_cast<std::ptrdiff_t>(i - 1)], first[static_cast<std::ptrdiff_t>(j)]);
    }
}

}  // namespace

mx_plan plan_mx(const answer<mx_record>& mx, std::string_view domain, const random_index& pick) {
    switch (mx.result) {
        case status::ok:
        case status::nodata:
            break;
        case status::nxdomain:
            return failure(
                outcome::permanent, "5.1.2", fmt::format("domain {} not found (NXDOMAIN)", domain)
            );
        case status::servfail:
        case status::timeout:
        case status::error:
            return failure(
                outcome::temporary, "4.4.3",
                fmt::format("DNS failure looking up MX for {}: {}", domain, to_string(mx.result))
            );
    }

    std::vector<mx_record> hosts;
    bool null_mx = false;
    for (const auto& r : mx.records) {
        if (r.host.empty())
            null_mx = true;
        else
            hosts.push_back(r);
    }
    if (hosts.empty() && null_mx) {
        return failure(
            outcome::permanent, "5.1.10",
            fmt::format("domain {} does not accept mail (null MX, RFC 7505)", domain)
        );
    }

    mx_plan plan;
    plan.result = outcome::ok;
    if (hosts.empty()) {
        // RFC 5321 §5.1: no MX means the domain is its own mail exchanger, preference 0.
        plan.implicit = true;
        plan.hosts.push_back(mx_record{0, std::string(domain)});
        return plan;
    }
    std::stable_sort(hosts.begin(), hosts.end(), [](const mx_record& a, const mx_record& b) {
        return a.preference < b.preference;
    });
    for (auto first = hosts.begin(); first != hosts.end();) {
        auto last = std::find_if(first, hosts.end(), [&](const mx_record& r) {
            return r.preference != first->preference;
        });
        shuffle(first, last, pick);
        first = last;
    }
    // A host listed twice keeps its best (first) place.
    std::set<std::string> seen;
    for (auto& h : hosts) {
        if (seen.insert(h.host).second)
            plan.hosts.push_back(std::move(h));
    }
    return plan;
}

}  // namespace outpost::dns
