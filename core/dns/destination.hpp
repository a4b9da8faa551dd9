// From a recipient domain to the ordered (MX host, addresses) list the SMTP client tries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "core/dns/mx_plan.hpp"
#include "core/dns/resolver.hpp"

namespace outpost::dns {

struct destination_host {
    std::string host;
    std::uint16_t preference = 0;
    // In the order to try. Never empty; an address already listed under an earlier host is left
    // out (and a host left with none is dropped), so one server is not tried twice in a row.
    std::vector<boost::asio::ip::address> addresses;
    // DNSSEC vouches for this host: the MX answer and its address answer were both validated
    // (RFC 7672 §2.2.1-2.2.2), so its TLSA records may be looked up and trusted.
    bool authenticated = false;
};

struct route_options {
    bool prefer_ipv6 = false;    // try a host's IPv6 addresses before its IPv4 ones
    std::size_t max_hosts = 10;  // MX hosts looked up at most, in plan order
};

struct route_result {
    outcome result = outcome::temporary;
    bool implicit = false;                // see mx_plan::implicit
    std::vector<destination_host> hosts;  // ok: in the order to try, never empty
    std::string enhanced;                 // failures: RFC 3463 status
    std::string text;                     // failures: a line for logs and DSNs
};

// Looks up domain's MX, plans it with plan_mx, then looks up each planned host's A and AAAA.
// A host whose addresses cannot be found is skipped. When no host is left:
// - implicit MX: the domain's own look-up decides: nxdomain or nodata is permanent 5.1.2 (the
//   domain has neither MX nor address records), a DNS failure temporary 4.4.3;
// - explicit MX: temporary: 4.4.3 when a look-up failed, otherwise 4.4.4 ("no MX host has an
//   address"), because a broken MX host name is the receiving side's mistake that it usually
//   repairs before the message expires.
// r must outlive the call (the caller awaits it at once). r.shutdown() makes pending and later
// look-ups fail, so this returns a temporary failure promptly.
boost::asio::awaitable<route_result> resolve_destination(
    resolver& r, std::string domain, random_index pick, route_options options = {}
);

}  // namespace outpost::dns
