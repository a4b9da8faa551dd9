#include "core/tlspolicy/tls_report.hpp"

#include <set>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "core/tlspolicy/dane.hpp"
#include "core/tlspolicy/mta_sts.hpp"
#include "core/util/text.hpp"

namespace outpost::tlspolicy {

namespace json = boost::json;

namespace {

// §4.4: the policy as its lines, without line ends.
json::array policy_lines(std::string_view text) {
    json::array out;
    for (auto line : util::split(text, '\n')) {
        if (line.ends_with('\r'))
            line.remove_suffix(1);
        if (!util::trim(line).empty())
            out.emplace_back(line);
    }
    return out;
}

json::object failure(const tls_session& s) {
    json::object f;
    // No result type of §4.3 names an MX the policy does not list; validation-failure with a
    // reason code says it.
    bool mismatch = s.result == "mx-mismatch";
    f["result-type"] = mismatch ? "validation-failure" : s.result;
    if (!s.sending_ip.empty())
        f["sending-mta-ip"] = s.sending_ip;
    f["receiving-mx-hostname"] = s.mx;
    if (!s.receiving_ip.empty())
        f["receiving-ip"] = s.receiving_ip;
    f["failed-session-count"] = s.count;
    if (mismatch)
        f["failure-reason-code"] = "mx-not-in-policy";
    return f;
}

// §4.4's policy object: "sts" with the policy file's lines and mx patterns, or "tlsa" (DANE)
// with the host's TLSA records and the host.
json::object policy_of(const std::string& domain, const std::string& id, const day_policy* p) {
    bool dane = id.starts_with(dane_policy_prefix);
    json::object policy{{"policy-type", dane ? "tlsa" : "sts"}, {"policy-domain", domain}};
    if (dane) {
        if (p)
            policy["policy-string"] = policy_lines(p->text);
        policy["mx-host"] = json::array{json::string(id.substr(dane_policy_prefix.size()))};
        return policy;
    }
    if (!p)
        return policy;
    policy["policy-string"] = policy_lines(p->text);
    auto parsed = parse_sts_policy(p->text);
    if (auto* ok = std::get_if<sts_policy>(&parsed)) {
        json::array mx;
        for (const auto& m : ok->mx)
            mx.emplace_back(m);
        policy["mx-host"] = std::move(mx);
    }
    return policy;
}

// One policy's entry: the policy, its summary and its failures grouped as counted.
json::object entry(
    json::object policy,
    const std::string& domain,
    const std::string& id,
    const std::vector<tls_session>& sessions
) {
    std::uint64_t good = 0, bad = 0;
    json::array failures;
    for (const auto& s : sessions) {
        if (s.domain != domain || s.policy_id != id)
            continue;
        if (s.result.empty()) {
            good += s.count;
        } else {
            bad += s.count;
            failures.push_back(failure(s));
        }
    }
    json::object out;
    out["policy"] = std::move(policy);
    out["summary"] = {
        {"total-successful-session-count", good}, {"total-failure-session-count", bad}};
    if (!failures.empty())
        out["failure-details"] = std::move(failures);
    return out;
}

}  // namespace

report_meta our_report_meta(
    const std::string& organization,
    const std::string& contact,
    const std::string& hostname,
    const std::string& day,
    const std::string& domain
) {
    // A msg-id (RFC 5322 §3.6.4), as the report mail's Subject carries it:
    // "20270115.example.com@relay.example".
    std::string digits;
    for (char c : day)
        if (c != '-')
            digits += c;
    return {
        organization.empty() ? hostname : organization,
        contact.empty() ? "postmaster@" + hostname : contact,
        digits + "." + domain + "@" + hostname};
}

std::string compose_tls_report(
    const report_meta& meta,
    const std::string& day,
    const std::string& domain,
    const std::vector<day_policy>& policies,
    const std::vector<tls_session>& sessions
) {
    json::object report;
    report["organization-name"] = meta.organization;
    report["date-range"] = {
        {"start-datetime", day + "T00:00:00Z"}, {"end-datetime", day + "T23:59:59Z"}};
    report["contact-info"] = meta.contact;
    report["report-id"] = meta.report_id;
    std::set<std::string> ids;
    for (const auto& s : sessions)
        if (s.domain == domain)
            ids.insert(s.policy_id);
    json::array entries;
    for (const auto& id : ids) {
        const day_policy* text = nullptr;
        for (const auto& p : policies)
            if (p.domain == domain && p.id == id)
                text = &p;
        entries.push_back(entry(policy_of(domain, id, text), domain, id, sessions));
    }
    report["policies"] = std::move(entries);
    return json::serialize(report);
}

}  // namespace outpost::tlspolicy
