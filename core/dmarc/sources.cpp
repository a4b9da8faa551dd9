#include "core/dmarc/sources.hpp"

#include <boost/asio/ip/address.hpp>

namespace outpost::dmarc {

bool own_source(const config::config& cfg, std::string_view ip_text) {
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(std::string(ip_text), ec);
    if (ec)
        return false;
    for (const auto& s : cfg.source_ips)
        if (s.address == ip)
            return true;
    for (const auto& n : cfg.dmarc.own_networks)
        if (n.contains(ip))
            return true;
    return false;
}

std::map<std::string, domain_totals> totals_by_domain(
    const config::config& cfg, const std::vector<source_row>& rows
) {
    std::map<std::string, domain_totals> totals;
    for (const auto& r : rows) {
        auto& t = totals[r.domain];
        t.counts.messages += r.counts.messages;
        t.counts.dkim_aligned += r.counts.dkim_aligned;
        t.counts.spf_aligned += r.counts.spf_aligned;
        t.counts.dmarc_pass += r.counts.dmarc_pass;
        if (!own_source(cfg, r.source_ip))
            ++t.foreign_sources;
    }
    return totals;
}

}  // namespace outpost::dmarc
