// A bounds-checked reader for DNS messages (RFC 1035 §4.1), and the interpretation of a response
// to one question: status, records and the TTL to cache it for.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "core/dns/resolver.hpp"

namespace outpost::dns::detail {

// RR TYPE values (RFC 1035 §3.2.2, RFC 3596 §2.1).
namespace rr_type {
inline constexpr std::uint16_t a = 1;
inline constexpr std::uint16_t ns = 2;
inline constexpr std::uint16_t cname = 5;
inline constexpr std::uint16_t soa = 6;
inline constexpr std::uint16_t ptr = 12;
inline constexpr std::uint16_t mx = 15;
inline constexpr std::uint16_t txt = 16;
inline constexpr std::uint16_t aaaa = 28;
inline constexpr std::uint16_t tlsa = 52;  // RFC 6698 §7.1
}  // namespace rr_type

// RCODE values (RFC 1035 §4.1.1).
namespace rcode {
inline constexpr std::uint8_t noerror = 0;
inline constexpr std::uint8_t formerr = 1;
inline constexpr std::uint8_t servfail = 2;
inline constexpr std::uint8_t nxdomain = 3;
inline constexpr std::uint8_t notimp = 4;
inline constexpr std::uint8_t refused = 5;
}  // namespace rcode

inline constexpr std::uint16_t class_in = 1;

// Domain names are text in lower case without the trailing dot; the root is "". Bytes that are
// not letters, digits, '-' or '_' (a '.' inside a label, controls, 8-bit) are written as \DDD as
// in RFC 1035 §5.1, so a hostile name can never pose as another one or garble a log line.
struct name_rdata {
    std::string name;  // CNAME, PTR
};

struct mx_rdata {
    std::uint16_t preference = 0;
    std::string exchange;  // "" for a null MX (RFC 7505)
};

struct txt_rdata {
    std::vector<std::string> strings;  // the character-strings, raw bytes
};

struct tlsa_rdata {
    std::uint8_t usage = 0;
    std::uint8_t selector = 0;
    std::uint8_t matching_type = 0;
    std::vector<std::uint8_t> data;  // the certificate association data
};

struct soa_rdata {
    std::uint32_t minimum = 0;  // RFC 2308 §4: the TTL of negative answers
};

// Types this resolver does not interpret keep no data (std::monostate).
using rdata = std::variant<
    std::monostate,
    boost::asio::ip::address_v4,
    boost::asio::ip::address_v6,
    name_rdata,
    mx_rdata,
    txt_rdata,
    tlsa_rdata,
    soa_rdata>;

struct record {
    std::string owner;
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
    std::uint32_t ttl = 0;  // RFC 2181 §8: values with the top bit set are read as 0
    rdata data;
};

struct question {
    std::string name;
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
};

struct message {
    std::uint16_t id = 0;
    bool response = false;
    bool truncated = false;
    // AD (RFC 4035 §3.2.3): the resolver validated the answer with DNSSEC. Worth only as much as
    // the path to the resolver, which must therefore be local (RFC 7672 §2.1).
    bool authenticated = false;
    std::uint8_t rcode = 0;
    std::vector<question> questions;
    std::vector<record> answers;
    std::vector<record> authorities;  // the additional section is not read
};

// Reads a whole message. nullopt when it is malformed: counts or lengths that run past the end,
// rdata whose length disagrees with its type, labels over 63 bytes, names over 255 bytes,
// compression pointers that do not point strictly backwards (which rules out loops), or reserved
// label types.
std::optional<message> parse_message(std::span<const std::uint8_t> bytes);

// What a response says about one question, with CNAME chains followed inside the answer section
// (RFC 1034 §3.6.2). ttl is the smallest TTL of the records used (CNAMEs included) or, for
// nxdomain and nodata, min(SOA TTL, SOA MINIMUM) from the authority section (RFC 2308 §5), or 0
// when there is no SOA.
struct interpretation {
    status result = status::error;
    std::vector<const record*> records;  // point into the message
    std::chrono::seconds ttl{0};
};

interpretation interpret(const message& m, std::string_view qname, std::uint16_t qtype);

// The query name for a PTR look-up: "4.3.2.1.in-addr.arpa" or the ip6.arpa nibbles (RFC 3596 §2.5).
std::string reverse_name(const boost::asio::ip::address& ip);

// A name as the resolver uses it in queries and cache keys: lower case, without one trailing dot.
// nullopt when it is not a host name in ASCII (letters, digits, '-', '_'; A-labels for IDNs) or
// cannot be a domain name (empty, empty label, label over 63 bytes or name over 253).
std::optional<std::string> normalize_name(std::string_view name);

}  // namespace outpost::dns::detail
