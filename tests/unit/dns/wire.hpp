// Builds DNS messages byte by byte for the reader's tests and the in-process test server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "core/dns/detail/message.hpp"

namespace outpost::dns::test {

using bytes = std::vector<std::uint8_t>;

inline void put16(bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v & 0xFF));
}

inline void put32(bytes& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v >> 16));
    put16(b, static_cast<std::uint16_t>(v & 0xFFFF));
}

// Uncompressed wire form; "" is the root.
inline void put_name(bytes& b, std::string_view name) {
    while (!name.empty()) {
        auto dot = name.find('.');
        auto label = name.substr(0, dot);
        b.push_back(static_cast<std::uint8_t>(label.size()));
        b.insert(b.end(), label.begin(), label.end());
        name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
    }
    b.push_back(0);
}

struct rr {
    std::string owner;
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    bytes rdata;
};

inline rr a_rr(std::string owner, std::uint32_t ttl, std::string_view ip) {
    auto v = boost::asio::ip::make_address_v4(ip).to_bytes();
    return {std::move(owner), detail::rr_type::a, ttl, bytes(v.begin(), v.end())};
}

inline rr aaaa_rr(std::string owner, std::uint32_t ttl, std::string_view ip) {
    auto v = boost::asio::ip::make_address_v6(ip).to_bytes();
    return {std::move(owner), detail::rr_type::aaaa, ttl, bytes(v.begin(), v.end())};
}

inline rr mx_rr(
    std::string owner, std::uint32_t ttl, std::uint16_t preference, std::string_view host
) {
    bytes d;
    put16(d, preference);
    put_name(d, host);
    return {std::move(owner), detail::rr_type::mx, ttl, std::move(d)};
}

inline rr name_rr(
    std::string owner, std::uint16_t type, std::uint32_t ttl, std::string_view target
) {
    bytes d;
    put_name(d, target);
    return {std::move(owner), type, ttl, std::move(d)};
}

inline rr txt_rr(std::string owner, std::uint32_t ttl, const std::vector<std::string>& strings) {
    bytes d;
    for (const auto& s : strings) {
        d.push_back(static_cast<std::uint8_t>(s.size()));
        d.insert(d.end(), s.begin(), s.end());
    }
    return {std::move(owner), detail::rr_type::txt, ttl, std::move(d)};
}

inline rr tlsa_rr(
    std::string owner,
    std::uint32_t ttl,
    std::uint8_t usage,
    std::uint8_t selector,
    std::uint8_t matching_type,
    const bytes& data
) {
    bytes d{usage, selector, matching_type};
    d.insert(d.end(), data.begin(), data.end());
    return {std::move(owner), detail::rr_type::tlsa, ttl, std::move(d)};
}

inline rr soa_rr(std::string owner, std::uint32_t ttl, std::uint32_t minimum) {
    bytes d;
    put_name(d, "ns." + owner);
    put_name(d, "hostmaster." + owner);
    for (std::uint32_t v : {2026112401u, 3600u, 600u, 86400u})
        put32(d, v);
    put32(d, minimum);
    return {std::move(owner), detail::rr_type::soa, ttl, std::move(d)};
}

struct response {
    std::uint16_t id = 0x1234;
    std::uint8_t rcode = 0;
    bool truncated = false;
    bool authenticated = false;  // AD: the server validated the answer (RFC 4035 §3.2.3)
    std::string qname;
    std::uint16_t qtype = detail::rr_type::a;
    std::vector<rr> answers;
    std::vector<rr> authorities;
};

inline bytes build(const response& r) {
    bytes b;
    put16(b, r.id);
    std::uint16_t flags = 0x8180 | r.rcode;  // QR, RD, RA
    if (r.truncated)
        flags |= 0x0200;
    if (r.authenticated)
        flags |= 0x0020;
    put16(b, flags);
    put16(b, 1);
    put16(b, static_cast<std::uint16_t>(r.answers.size()));
    put16(b, static_cast<std::uint16_t>(r.authorities.size()));
    put16(b, 0);
    put_name(b, r.qname);
    put16(b, r.qtype);
    put16(b, detail::class_in);
    for (const auto* section : {&r.answers, &r.authorities}) {
        for (const auto& x : *section) {
            put_name(b, x.owner);
            put16(b, x.type);
            put16(b, detail::class_in);
            put32(b, x.ttl);
            put16(b, static_cast<std::uint16_t>(x.rdata.size()));
            b.insert(b.end(), x.rdata.begin(), x.rdata.end());
        }
    }
    return b;
}

}  // namespace outpost::dns::test
