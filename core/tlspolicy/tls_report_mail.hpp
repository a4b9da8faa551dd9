// TLS-RPT (RFC 8460) by mail: where a policy domain wants its reports (the _smtp._tls TXT
// record's rua), and the report as the message §5.3 describes: multipart/report with the JSON
// gzipped. Pure: the look-up, signing and spooling happen in the daemon.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace outpost::tlspolicy {

// The mailto: addresses of a domain's TLS-RPT record (§3), given the TXT records at
// _smtp._tls.DOMAIN: exactly one record must start with "v=TLSRPTv1;". https: URIs are not
// ours to use (we report by mail only) and are left out, as are malformed addresses; a mailto:
// URI's query ("?subject=...") is dropped and %XX escapes decoded (RFC 6068). The version and the
// field names are case-sensitive (§3's ABNF). Empty: the domain wants no reports by mail.
std::vector<std::string> tlsrpt_mail_addresses(const std::vector<std::string>& txt_records);

struct report_mail {
    std::string from;  // the report's sender address (contact-info when it is one)
    std::vector<std::string> to;
    std::string submitter;  // our domain (the From address's): Subject, header, file name
    std::string policy_domain;
    std::string report_id;
    std::int64_t begin = 0;  // the day's first and last second, UTC
    std::int64_t end = 0;
    std::int64_t date = 0;   // Date:
    std::string message_id;  // without angle brackets
    std::string json;        // compose_tls_report's output
};

// The message with CRLF line ends, ready to be signed and spooled: From, To, Date, Subject
// ("Report Domain: ... Submitter: ... Report-ID: <...>"), TLS-Report-Domain,
// TLS-Report-Submitter, Message-ID, a text part and the report as application/tlsrpt+gzip named
// "submitter!policy-domain!begin!end.json.gz" (§5.3). Throws std::runtime_error when zlib fails.
std::string compose_report_mail(const report_mail& m);

// gzip (RFC 1952) of bytes; std::runtime_error when zlib fails.
std::string gzip(std::string_view bytes);

}  // namespace outpost::tlspolicy
