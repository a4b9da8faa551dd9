// to_targets: flattening a route into connection targets.
#include "core/delivery/targets.hpp"

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

}  // namespace outpost::delivery
