// SPF (RFC 7208): record parsing and check_host() over the dns::resolver seam, with the DNS-lookup
// and void-lookup limits counted so that `outpostctl doctor` can report them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "core/dns/resolver.hpp"

namespace outpost::doctor {

// RFC 7208 §2.6.
enum class spf_result { none, neutral, pass, fail, softfail, temperror, permerror };

const char* to_string(spf_result r);

// One directive: qualifier, mechanism name and its arguments as written (macros unexpanded).
struct spf_mechanism {
    char qualifier = '+';     // + - ~ ?
    std::string name;         // all include a mx ptr ip4 ip6 exists (lower case)
    std::string domain_spec;  // include/a/mx/ptr/exists target; empty = the current domain
    std::optional<boost::asio::ip::address> network;  // ip4/ip6 base address
    int cidr4 = -1;  // prefix length for IPv4 (ip4, a, mx); -1 = none given (/32)
    int cidr6 = -1;  // prefix length for IPv6 (ip6, a, mx); -1 = none given (/128)

    // The term as it would be written back: "-ip4:192.0.2.0/24", "~all", "include:_spf.x.test".
    std::string text() const;
};

struct spf_record {
    std::vector<spf_mechanism> mechanisms;
    std::optional<std::string> redirect;  // redirect= domain-spec
    std::optional<std::string> exp;       // exp= domain-spec

    // "v=spf1 ..." with every term written back in order, redirect= and exp= last.
    std::string text() const;
};

// True when txt is an SPF record: "v=spf1" alone or followed by a space (§4.5), any case.
bool is_spf_record(std::string_view txt);

// Parses "v=spf1 ..." (§4.6, §12 ABNF). The error is a sentence naming the bad term, e.g.
// "unknown mechanism 'ip5:1.2.3.4'" or "redirect= given twice". Macro syntax is checked too.
std::variant<spf_record, std::string> parse_spf(std::string_view txt);

struct spf_options {
    unsigned max_dns_lookups = 10;  // §4.6.4: include a mx ptr exists redirect
    unsigned max_void_lookups = 2;  // §4.6.4: answers with no records or NXDOMAIN
    unsigned max_mx_names = 10;     // §4.6.4: address look-ups per mx mechanism
    unsigned max_ptr_names = 10;    // §4.6.4: names validated per ptr mechanism
    // Walk every term as if nothing matched (includes are still entered), so the counts are the
    // worst case a receiver may hit for some client address. The result is then meaningless
    // except for permerror/temperror.
    bool exhaustive = false;
};

struct spf_evaluation {
    spf_result result = spf_result::none;
    std::string reason;   // why: "matched ip4:192.0.2.0/24 in example.test", "11 DNS lookups ..."
    std::string matched;  // the matching term ("" when none), e.g. "-all"
    std::string matched_domain;  // the domain whose record held it
    unsigned dns_lookups = 0;
    unsigned void_lookups = 0;
};

// check_host() of RFC 7208 §4 for ip and domain with MAIL FROM sender ("postmaster@domain" when
// the sender has no local part) and the HELO name for the %{h} macro. Never throws for DNS or
// record problems: those are temperror and permerror with a reason.
boost::asio::awaitable<spf_evaluation> check_host(
    dns::resolver& resolver,
    boost::asio::ip::address ip,
    std::string domain,
    std::string sender,
    std::string helo,
    spf_options options = {}
);

}  // namespace outpost::doctor
