// DANE for SMTP (RFC 7672): what an MX host's TLSA answer asks of the connection. Pure: the
// look-ups happen in the delivery batch, the matching in OpenSSL (SSL_dane_*).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/dns/resolver.hpp"

namespace outpost::tlspolicy {

enum class dane_state {
    none,           // no DANE for this host: insecure DNS, or no TLSA records
    authenticate,   // STARTTLS with a certificate matching one of `usable`, or no delivery
    encrypt_only,   // secure TLSA records, none usable: STARTTLS without authentication (§2.2)
    lookup_failed,  // the TLSA look-up failed (a bogus answer is a SERVFAIL): skip the host (§2.2)
};

const char* to_string(dane_state s);

struct dane_decision {
    dane_state state = dane_state::none;
    std::vector<dns::tlsa_record> usable;  // authenticate: DANE-TA(2) and DANE-EE(3) records
    std::string why;                       // a line for logs and deferrals
};

// The TLSA owner name for an SMTP server on host and port: "_25._tcp.mx.example.com" (RFC 6698 §3).
std::string tlsa_name(const std::string& host, std::uint16_t port);

// host_secure: the MX answer and the host's address records were DNSSEC-validated (RFC 7672
// §2.2.1-2.2.2); otherwise no TLSA records are looked up and tlsa is ignored. Usable records are
// DANE-TA(2) and DANE-EE(3) with selector 0 or 1 and matching type 0, 1 or 2; PKIX-TA(0) and
// PKIX-EE(1) are not used for SMTP (§3.1.3).
dane_decision decide_dane(
    const std::string& host, bool host_secure, const dns::answer<dns::tlsa_record>& tlsa
);

// The policy id TLS-RPT session counts for a DANE host are kept under: "tlsa:mx.example.com".
std::string dane_policy_id(const std::string& host);
inline constexpr std::string_view dane_policy_prefix = "tlsa:";

// Records in presentation form ("3 1 1 9F86D0..."), one per line, for logs and TLS-RPT.
std::string tlsa_text(const std::vector<dns::tlsa_record>& records);

}  // namespace outpost::tlspolicy
