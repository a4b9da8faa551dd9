// From a resolved destination (core/dns), or a static next hop, to the ordered addresses
// deliver() tries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/delivery/delivery.hpp"
#include "core/dns/destination.hpp"

namespace outpost::delivery {

// Every address of every host of route, in route order, on port (25, or delivery.port in
// tests). max_targets > 0 keeps only the first that many (Postfix's smtp_mx_address_limit):
// a destination with dozens of addresses must not hold a delivery for hours. Empty when the
// route is not ok.
std::vector<target> to_targets(
    const dns::route_result& route, std::uint16_t port, std::size_t max_targets = 0
);

// A static next hop's targets: "192.0.2.1", "[2001:db8::1]" or a host name's addresses; empty
// when the name has none.
boost::asio::awaitable<std::vector<target>> next_hop_targets(
    dns::resolver& resolver, std::string host, std::uint16_t port
);

}  // namespace outpost::delivery
