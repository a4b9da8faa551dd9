// `outpostctl doctor`: what receivers check about a sender's DNS (SPF, DKIM, DMARC, PTR), as
// PASS / WARN / FAIL findings that carry the exact record to publish as the fix.
#pragma once

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
    std::string check;    // spf | dkim | dmarc | ptr | config
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
};

struct sending_address {
    boost::asio::ip::address ip;
    std::string ehlo;  // the name this address greets with
};

struct scope {
    std::vector<std::string> domains;  // signing (From) domains: SPF, DKIM, DMARC
    std::vector<signing_key> keys;
    std::vector<sending_address> sources;  // empty: SPF-per-address and PTR checks are skipped
    std::string bounce_domain;             // the return-path domain; "" = the From domain
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
// alignment of DKIM d= and the return-path domain with domain.
boost::asio::awaitable<std::vector<finding>> check_dmarc(
    dns::resolver& r, std::string domain, std::string bounce_domain, bool signs_subdomains
);

// FCrDNS of the address, and that the confirmed name is its EHLO name.
boost::asio::awaitable<std::vector<finding>> check_ptr(dns::resolver& r, sending_address source);

// Every check above for every domain, key and address in scope, in that order.
boost::asio::awaitable<std::vector<finding>> examine(dns::resolver& r, scope s);

}  // namespace outpost::doctor
