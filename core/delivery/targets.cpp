// to_targets: flattening a route into connection targets; next_hop_targets: a static next hop.
#include "core/delivery/targets.hpp"

#include <boost/asio/ip/address.hpp>

namespace outpost::delivery {

std::vector<target> to_targets(
    const dns::route_result& route, std::uint16_t port, std::size_t max_targets
) {
    std::vector<target> out;
    if (route.result != dns::outcome::ok)
        return out;
    for (const auto& host : route.hosts) {
        for (const auto& address : host.addresses) {
            if (max_targets > 0 && out.size() >= max_targets)
                return out;
            target t{host.host, {address, port}};
            t.authenticated = host.authenticated;
            out.push_back(std::move(t));
        }
    }
    return out;
}

boost::asio::awaitable<std::vector<target>> next_hop_targets(
    dns::resolver& resolver, std::string host, std::uint16_t port
) {
    std::vector<target> out;
    if (host.size() > 1 && host.front() == '[')
        host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(host, ec);
    if (!ec) {
        out.push_back({host, {ip, port}});
        co_return out;
    }
    auto a = co_await resolver.address(host);
    for (const auto& addr : a.records)
        out.push_back({host, {addr, port}});
    co_return out;
}

}  // namespace outpost::delivery
