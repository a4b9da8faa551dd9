// `outpostctl doctor`: what receivers check about a sender's DNS (SPF, DKIM, DMARC, PTR), whether
// bounces come back (MX of the bounce domain) and, on request, DNSBL listings, as PASS / WARN /
// FAIL findings that carry the exact record to publish as the fix.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "core/dkim/key.hpp"
#include "core/dns/resolver.hpp"

namespace outpost::doctor {

enum class verdict { pass, warn, fail };

const char* to_string(verdict v);  // "PASS", "WARN", "FAIL"

struct finding {
    verdict level = verdict::pass;
    std::string check;    // spf | dkim | dmarc | ptr | mx | dnsbl
    std::string subject;  // the domain, selector._domainkey.domain, or IP address checked
    std::string message;  // one sentence
    std::string fix;      // zone-file line(s) to publish, or the config change; "" when none
};

// One [[dkim]] entry with its private key loaded, or the sentence saying why it could not be.
struct signing_key {
    std::string domain;
    std::string selector;
    std::variant<dkim::private_key, std::string> key;
    bool sign_subdomains = true;
    // false: a retired key (sign = false): its record is still checked, but a FAIL there is only a
    // WARN, since the record is meant to go away once mail signed with it has been verified.
    bool signs = true;
};

struct sending_address {
    boost::asio::ip::address ip;
    std::string ehlo;  // the name this address greets with
};

// Where this relay accepts mail: a [[listener]]'s address and port. A listener on the wildcard
// address appears once for each address of this host.
struct inbound_address {
    boost::asio::ip::address ip;
    std::uint16_t port = 25;
    bool implicit_tls = false;  // MTAs delivering bounces speak plain SMTP (then STARTTLS)
};

struct scope {
    std::vector<std::string> domains;  // signing (From) domains: SPF, DKIM, DMARC
    std::vector<signing_key> keys;
    std::vector<sending_address> sources;  // empty: SPF-per-address and PTR checks are skipped
    std::string bounce_domain;             // the return-path domain; "" = the From domain
    std::vector<inbound_address> inbound;  // for the bounce domain's MX check
    std::string mx_host;                   // the name the MX fix points at: this relay's EHLO name
    std::vector<std::string> dnsbl_zones;  // empty: no DNSBL look-ups (the default)
    std::string report_address;            // [dmarc] report_address: rua= should name it
};

// A zone-file TXT line, value split into 255-byte character-strings (RFC 1035 §3.3.14):
// `name. IN TXT "v=spf1 ..."`.
std::string txt_line(const std::string& name, const std::string& value);

// "192.0.2.1" → "1.2.0.192.in-addr.arpa"; IPv6 as 32 reversed nibbles under ip6.arpa.
std::string reverse_name(const boost::asio::ip::address& ip);

// The organizational domain (RFC 7489 §3.2) by a heuristic, as no public suffix list is shipped:
// the last two labels, or three under a two-letter country code with a common second level
// ("co.uk", "com.au"). TODO(#7): the public suffix list.
std::string organizational_domain(std::string_view domain);

// SPF of domain (§ RFC 7208): one record, its syntax, the lookup counts at worst, the `all`
// qualifier, and check_host() of every source address.
boost::asio::awaitable<std::vector<finding>> check_spf(
    dns::resolver& r, std::string domain, std::vector<sending_address> sources
);

// The key record at selector._domainkey.domain: present, parses, matches the private key.
boost::asio::awaitable<std::vector<finding>> check_dkim(dns::resolver& r, signing_key key);

// _dmarc.domain (falling back to the organizational domain): present, parses, policy, and the
// alignment of DKIM d= and the return-path domain with domain. With a report_address: that rua=
// sends aggregate reports there, and, when its domain is outside domain's organizational domain,
// that the report domain authorises it (RFC 7489 §7.1: DOMAIN._report._dmarc.REPORTDOMAIN).
boost::asio::awaitable<std::vector<finding>> check_dmarc(
    dns::resolver& r,
    std::string domain,
    std::string bounce_domain,
    bool signs_subdomains,
    std::string report_address = {}
);

// FCrDNS of the address, and that the confirmed name is its EHLO name.
boost::asio::awaitable<std::vector<finding>> check_ptr(dns::resolver& r, sending_address source);

// The bounce domain's MX "reaches this relay" when one of its hosts resolves to an address where
// a listener accepts plain SMTP on port 25: asynchronous bounces (DSNs to the VERP addresses) then
// come back to Outpost to be classified. PASS when every MX host does; WARN when some or all point
// elsewhere (their DSNs are never classified), when the MX is this relay but no listener takes
// port 25 there, or when there is no MX and the domain's own address (RFC 5321 §5.1 implicit MX)
// reaches this relay; FAIL with `domain. IN MX 10 mx_host.` when the domain does not exist, has no
// MX and no address of ours, has a null MX (RFC 7505), or its MX hosts do not resolve.
boost::asio::awaitable<std::vector<finding>> check_mx(
    dns::resolver& r,
    std::string bounce_domain,
    std::vector<inbound_address> inbound,
    std::string mx_host
);

// zen.spamhaus.org, bl.spamcop.net, b.barracudacentral.org.
std::vector<std::string> default_dnsbl_zones();

// The DNSBL query name: "10.113.0.203.zen.spamhaus.org" for 203.0.113.10; IPv6 as 32 reversed
// nibbles (RFC 5782 §2.4).
std::string dnsbl_name(const boost::asio::ip::address& ip, std::string_view zone);

// One address in one DNSBL (RFC 5782 §2.1: an A record at dnsbl_name() means listed). PASS on
// NXDOMAIN or NODATA; FAIL on an answer in 127.0.0.0/8, with the TXT reason when the list gives
// one; WARN (result unknown, and why) on an answer in 127.255.255.0/24, which Spamhaus uses for
// "query refused" (public resolver, too many queries), on any other answer, and on a failed
// look-up.
boost::asio::awaitable<std::vector<finding>> check_dnsbl(
    dns::resolver& r, boost::asio::ip::address ip, std::string zone
);

// Every check above for every domain, key and address in scope, in that order.
boost::asio::awaitable<std::vector<finding>> examine(dns::resolver& r, scope s);

}  // namespace outpost::doctor
