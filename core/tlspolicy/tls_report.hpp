// TLS-RPT (RFC 8460): the aggregate report of one day's sessions with one policy domain's MX
// hosts, as JSON (§4.4). Pure: the counts come from policy_cache::sessions().
#pragma once

#include <string>
#include <vector>

#include "core/tlspolicy/cache.hpp"

namespace outpost::tlspolicy {

struct report_meta {
    std::string organization;  // organization-name
    std::string contact;       // contact-info
    std::string report_id;
};

// The meta of our report for domain on day: [tls_report] organization and contact, else the
// host name and postmaster@ it; the report id ("20270115.example.com@relay.example") names the
// day, the domain and the host.
report_meta our_report_meta(
    const std::string& organization,
    const std::string& contact,
    const std::string& hostname,
    const std::string& day,
    const std::string& domain
);

// The report for domain on day: one "policies" entry per policy id the day's sessions were
// counted under, with its policy-string lines and mx patterns, the summary, and the failures
// grouped by result type, sending IP, MX and receiving IP. policies and sessions may hold other
// domains' rows; they are left out.
std::string compose_tls_report(
    const report_meta& meta,
    const std::string& day,
    const std::string& domain,
    const std::vector<day_policy>& policies,
    const std::vector<tls_session>& sessions
);

}  // namespace outpost::tlspolicy
