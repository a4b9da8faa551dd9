// MX selection per RFC 5321 §5.1 and RFC 7505 as a pure function: an MX answer in, the hosts to
// try (or why there are none) out. No I/O, no clock; randomness comes from the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dns/resolver.hpp"

namespace outpost::dns {

// What a destination look-up means for delivery, in the terms of a DSN.
enum class outcome {
    ok,         // hosts to try
    temporary,  // retry later (4.x.x): the DNS failed, not the domain
    permanent   // bounce (5.x.x): the domain does not exist or does not accept mail
};

const char* to_string(outcome o);

// Returns an index in [0, n) for n >= 1, uniformly at random in production. Injected so that
// tests can fix the order of equal-preference hosts.
using random_index = std::function<std::size_t(std::size_t n)>;

// A random_index backed by a std::mt19937_64 seeded from std::random_device, or from seed when
// it is given (outpostctl --seed, reproducible tests).
random_index make_random_index();
random_index make_random_index(std::uint64_t seed);

struct mx_plan {
    outcome result = outcome::temporary;
    // No MX records: the domain itself is the only host, preference 0 (RFC 5321 §5.1).
    bool implicit = false;
    // ok: in the order to try. Lower preference first; hosts of equal preference shuffled, as
    // RFC 5321 §5.1 asks, to spread the load; a host listed twice is kept once.
    std::vector<mx_record> hosts;
    std::string enhanced;  // failures: RFC 3463 status, e.g. "5.1.10"
    std::string text;      // failures: a line for logs and DSNs
};

// The plan for delivering to domain given its MX answer:
// - ok with records: the hosts in order. A null MX next to real MX records (which RFC 7505 §3
//   forbids) is ignored, so the real ones are tried;
// - ok with only a null MX (RFC 7505): permanent, 5.1.10, "domain does not accept mail";
// - nodata (or ok without records): implicit MX, the domain itself;
// - nxdomain: permanent, 5.1.2, "domain not found";
// - servfail, timeout, error: temporary, 4.4.3, "DNS failure".
mx_plan plan_mx(const answer<mx_record>& mx, std::string_view domain, const random_index& pick);

}  // namespace outpost::dns
