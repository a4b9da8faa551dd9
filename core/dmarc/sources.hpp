// Which source IPs in DMARC reports are ours: a [[source_ip]], or in [dmarc] own_networks.
// Anything else sending as our domains is spoofing or a service nobody told us about.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"
#include "core/dmarc/store.hpp"

namespace outpost::dmarc {

bool own_source(const config::config& cfg, std::string_view ip);

// Per From domain over rows: the sums of every source, and how many sources are not ours.
struct domain_totals {
    tally counts;
    std::size_t foreign_sources = 0;
};

std::map<std::string, domain_totals> totals_by_domain(
    const config::config& cfg, const std::vector<source_row>& rows
);

}  // namespace outpost::dmarc
