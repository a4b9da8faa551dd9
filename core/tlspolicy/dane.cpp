#include "core/tlspolicy/dane.hpp"

#include <fmt/format.h>

namespace outpost::tlspolicy {

const char* to_string(dane_state s) {
    switch (s) {
        case dane_state::none:
            return "none";
        case dane_state::authenticate:
            return "authenticate";
        case dane_state::encrypt_only:
            return "encrypt-only";
        case dane_state::lookup_failed:
            return "lookup-failed";
    }
    return "none";
}

std::string tlsa_name(const std::string& host, std::uint16_t port) {
    return fmt::format("_{}._tcp.{}", port, host);
}

std::string dane_policy_id(const std::string& host) {
    return std::string(dane_policy_prefix) + host;
}

namespace {

bool usable(const dns::tlsa_record& r) {
    return (r.usage == 2 || r.usage == 3) && r.selector <= 1 && r.matching_type <= 2 &&
           !r.data.empty();
}

}  // namespace

dane_decision decide_dane(
    const std::string& host, bool host_secure, const dns::answer<dns::tlsa_record>& tlsa
) {
    dane_decision out;
    if (!host_secure)
        return out;
    switch (tlsa.result) {
        case dns::status::nxdomain:
        case dns::status::nodata:
            return out;
        case dns::status::ok:
            break;
        default:
            // A validating resolver answers SERVFAIL for a bogus signature: an attacker's
            // answer must not turn DANE off.
            out.state = dane_state::lookup_failed;
            out.why = fmt::format(
                "DANE: the TLSA look-up for {} failed ({})", host, dns::to_string(tlsa.result)
            );
            return out;
    }
    if (!tlsa.authenticated || tlsa.records.empty())
        return out;  // insecure TLSA records say nothing (RFC 7672 §2.2)
    for (const auto& r : tlsa.records)
        if (usable(r))
            out.usable.push_back(r);
    out.state = out.usable.empty() ? dane_state::encrypt_only : dane_state::authenticate;
    out.why = out.usable.empty()
                  ? fmt::format("DANE: {} has TLSA records but none usable: TLS required", host)
                  : fmt::format("DANE: {} has {} usable TLSA record(s)", host, out.usable.size());
    return out;
}

std::string tlsa_text(const std::vector<dns::tlsa_record>& records) {
    std::string out;
    for (const auto& r : records) {
        out += fmt::format("{} {} {} ", r.usage, r.selector, r.matching_type);
        for (auto b : r.data)
            out += fmt::format("{:02X}", b);
        out += '\n';
    }
    return out;
}

}  // namespace outpost::tlspolicy
