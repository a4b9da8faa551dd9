// A bounds-checked DNS message reader: every length and pointer is checked before it is followed.
#include "core/dns/detail/message.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include <fmt/format.h>

namespace outpost::dns::detail {

namespace {

constexpr std::size_t header_size = 12;
constexpr std::size_t max_name_wire = 255;  // RFC 1035 §3.1, counting length bytes
constexpr std::size_t max_label = 63;
constexpr int max_cname_hops = 8;

class reader {
public:
    explicit reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

    std::size_t position() const { return pos_; }

    bool remaining(std::size_t n) const {
        return pos_ <= bytes_.size() && bytes_.size() - pos_ >= n;
    }

    std::optional<std::uint8_t> u8() {
        if (!remaining(1))
            return std::nullopt;
        return bytes_[pos_++];
    }

    std::optional<std::uint16_t> u16() {
        if (!remaining(2))
            return std::nullopt;
        auto v = static_cast<std::uint16_t>((bytes_[pos_] << 8) | bytes_[pos_ + 1]);
        pos_ += 2;
        return v;
    }

    std::optional<std::uint32_t> u32() {
        if (!remaining(4))
            return std::nullopt;
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i)
            v = (v << 8) | bytes_[pos_++];
        return v;
    }

    std::optional<std::span<const std::uint8_t>> take(std::size_t n) {
        if (!remaining(n))
            return std::nullopt;
        auto s = bytes_.subspan(pos_, n);
        pos_ += n;
        return s;
    }

    // RFC 1035 §4.1.4: a name is labels ending in a zero byte or in a pointer to an earlier name.
    std::optional<std::string> name() {
        std::string out;
        std::size_t wire_length = 0;
        std::size_t at = pos_;
        bool jumped = false;
        while (true) {
            if (at >= bytes_.size())
                return std::nullopt;
            std::uint8_t length = bytes_[at];
            if ((length & 0xC0) == 0xC0) {
                if (at + 1 >= bytes_.size())
                    return std::nullopt;
                std::size_t target =
                    static_cast<std::size_t>((length & 0x3F) << 8) | bytes_[at + 1];
                // Strictly backwards: every jump lowers the position, so no loop is possible.
                if (target >= at)
                    return std::nullopt;
                if (!jumped)
                    pos_ = at + 2;
                jumped = true;
                at = target;
                continue;
            }
            if ((length & 0xC0) != 0)  // 0x40 and 0x80: obsolete or reserved label types
                return std::nullopt;
            wire_length += 1u + length;
            if (wire_length > max_name_wire)
                return std::nullopt;
            if (length == 0) {
                if (!jumped)
                    pos_ = at + 1;
                return out;
            }
            if (length > max_label || at + 1 + length > bytes_.size())
                return std::nullopt;
            if (!out.empty())
                out += '.';
            append_label(out, bytes_.subspan(at + 1, length));
            at += 1u + length;
        }
    }

private:
    static void append_label(std::string& out, std::span<const std::uint8_t> label) {
        for (std::uint8_t b : label) {
            char c = static_cast<char>(b);
            if (c >= 'A' && c <= 'Z')
                out += static_cast<char>(c - 'A' + 'a');
            else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
                out += c;
            else
                out += fmt::format("\\{:03d}", b);
        }
    }

    std::span<const std::uint8_t> bytes_;
    std::size_t pos_ = 0;
};

std::optional<rdata> read_rdata(reader& r, std::uint16_t type, std::uint16_t length) {
    std::size_t end = r.position() + length;
    if (!r.remaining(length))
        return std::nullopt;
    rdata out;
    switch (type) {
        case rr_type::a: {
            if (length != 4)
                return std::nullopt;
            auto b = r.take(4);
            std::array<unsigned char, 4> v{};
            std::copy(b->begin(), b->end(), v.begin());
            out = boost::asio::ip::address_v4(v);
            break;
        }
        case rr_type::aaaa: {
            if (length != 16)
                return std::nullopt;
            auto b = r.take(16);
            std::array<unsigned char, 16> v{};
            std::copy(b->begin(), b->end(), v.begin());
            out = boost::asio::ip::address_v6(v);
            break;
        }
        case rr_type::cname:
        case rr_type::ptr: {
            auto n = r.name();
            if (!n)
                return std::nullopt;
            out = name_rdata{std::move(*n)};
            break;
        }
        case rr_type::mx: {
            auto preference = r.u16();
            if (!preference)
                return std::nullopt;
            auto n = r.name();
            if (!n)
                return std::nullopt;
            out = mx_rdata{*preference, std::move(*n)};
            break;
        }
        case rr_type::txt: {
            // RFC 1035 §3.3.14: one or more <character-string>s, each a length byte and bytes.
            txt_rdata txt;
            while (r.position() < end) {
                auto n = r.u8();
                if (!n || r.position() + *n > end)
                    return std::nullopt;
                auto b = r.take(*n);
                txt.strings.emplace_back(b->begin(), b->end());
            }
            if (txt.strings.empty())
                return std::nullopt;
            out = std::move(txt);
            break;
        }
        case rr_type::tlsa: {
            // Usage, selector and matching type, then at least one byte of data (RFC 6698 §2.1).
            if (length < 4)
                return std::nullopt;
            auto head = r.take(3);
            auto data = r.take(length - 3u);
            out = tlsa_rdata{(*head)[0], (*head)[1], (*head)[2], {data->begin(), data->end()}};
            break;
        }
        case rr_type::soa: {
            // MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 §3.3.13).
            if (!r.name() || !r.name())
                return std::nullopt;
            std::uint32_t minimum = 0;
            for (int i = 0; i < 5; ++i) {
                auto v = r.u32();
                if (!v)
                    return std::nullopt;
                minimum = *v;
            }
            out = soa_rdata{minimum};
            break;
        }
        default:
            r.take(length);
            return out;
    }
    // Names inside rdata may point elsewhere, but the rdata itself must fill RDLENGTH exactly.
    if (r.position() != end)
        return std::nullopt;
    return out;
}

std::uint32_t read_ttl(std::uint32_t raw) {
    return raw > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max()) ? 0 : raw;
}

std::optional<record> read_record(reader& r) {
    record rr;
    auto owner = r.name();
    auto type = r.u16();
    auto klass = r.u16();
    auto ttl = r.u32();
    auto length = r.u16();
    if (!owner || !type || !klass || !ttl || !length)
        return std::nullopt;
    auto data = read_rdata(r, *type, *length);
    if (!data)
        return std::nullopt;
    return record{std::move(*owner), *type, *klass, read_ttl(*ttl), std::move(*data)};
}

bool read_records(reader& r, std::uint16_t count, std::vector<record>& out) {
    for (std::uint16_t i = 0; i < count; ++i) {
        auto rr = read_record(r);
        if (!rr)
            return false;
        out.push_back(std::move(*rr));
    }
    return true;
}

}  // namespace

std::optional<message> parse_message(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < header_size)
        return std::nullopt;
    reader r(bytes);
    message m;
    auto id = r.u16();
    auto flags = r.u16();
    auto qdcount = r.u16();
    auto ancount = r.u16();
    auto nscount = r.u16();
    auto arcount = r.u16();
    if (!id || !flags || !qdcount || !ancount || !nscount || !arcount)
        return std::nullopt;
    m.id = *id;
    m.response = (*flags & 0x8000) != 0;
    m.truncated = (*flags & 0x0200) != 0;
    m.authenticated = (*flags & 0x0020) != 0;
    m.rcode = static_cast<std::uint8_t>(*flags & 0x000F);
    // Counts are not trusted for reservations: each record needs at least 11 bytes, so the loops
    // below stop at the end of the buffer long before a hostile count could matter.
    for (std::uint16_t i = 0; i < *qdcount; ++i) {
        auto name = r.name();
        auto type = r.u16();
        auto klass = r.u16();
        if (!name || !type || !klass)
            return std::nullopt;
        m.questions.push_back(question{std::move(*name), *type, *klass});
    }
    if (!read_records(r, *ancount, m.answers) || !read_records(r, *nscount, m.authorities))
        return std::nullopt;
    return m;
}

namespace {

std::chrono::seconds negative_ttl(const message& m) {
    // RFC 2308 §5: the TTL of a negative answer is the smaller of the SOA's own TTL and its
    // MINIMUM field. Without an SOA the answer should not be cached, hence 0.
    for (const auto& rr : m.authorities) {
        if (rr.type != rr_type::soa)
            continue;
        if (const auto* soa = std::get_if<soa_rdata>(&rr.data))
            return std::chrono::seconds(std::min(rr.ttl, read_ttl(soa->minimum)));
    }
    return std::chrono::seconds(0);
}

}  // namespace

interpretation interpret(const message& m, std::string_view qname, std::uint16_t qtype) {
    interpretation out;
    switch (m.rcode) {
        case rcode::noerror:
            break;
        case rcode::nxdomain:
            out.result = status::nxdomain;
            out.ttl = negative_ttl(m);
            return out;
        case rcode::servfail:
            out.result = status::servfail;
            return out;
        default:
            out.result = status::error;
            return out;
    }
    // Follow the CNAME chain from qname within the answer section (RFC 1034 §3.6.2). Records
    // owned by names outside the chain are ignored: a server may not vouch for them.
    std::string current(qname);
    std::uint32_t ttl = std::numeric_limits<std::uint32_t>::max();
    for (int hop = 0; hop <= max_cname_hops; ++hop) {
        const record* alias = nullptr;
        for (const auto& rr : m.answers) {
            if (rr.klass != class_in || rr.owner != current)
                continue;
            if (rr.type == qtype && !std::holds_alternative<std::monostate>(rr.data)) {
                out.records.push_back(&rr);
                ttl = std::min(ttl, rr.ttl);
            } else if (rr.type == rr_type::cname && qtype != rr_type::cname && !alias) {
                alias = &rr;
            }
        }
        if (!out.records.empty() || !alias)
            break;
        ttl = std::min(ttl, alias->ttl);
        current = std::get<name_rdata>(alias->data).name;
    }
    if (out.records.empty()) {
        out.result = status::nodata;
        out.ttl = negative_ttl(m);
        return out;
    }
    out.result = status::ok;
    out.ttl = std::chrono::seconds(ttl);
    return out;
}

std::string reverse_name(const boost::asio::ip::address& ip) {
    std::string out;
    if (ip.is_v4()) {
        auto b = ip.to_v4().to_bytes();
        return fmt::format("{}.{}.{}.{}.in-addr.arpa", b[3], b[2], b[1], b[0]);
    }
    auto b = ip.to_v6().to_bytes();
    constexpr const char* hex = "0123456789abcdef";
    for (auto it = b.rbegin(); it != b.rend(); ++it) {
        out += hex[*it & 0x0F];
        out += '.';
        out += hex[*it >> 4];
        out += '.';
    }
    return out + "ip6.arpa";
}

std::optional<std::string> normalize_name(std::string_view name) {
    if (name.ends_with('.'))
        name.remove_suffix(1);
    if (name.empty() || name.size() > 253)
        return std::nullopt;
    std::string out;
    out.reserve(name.size());
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0)
                return std::nullopt;
            label = 0;
            out += c;
            continue;
        }
        if (++label > max_label)
            return std::nullopt;
        // Host names (RFC 1123 §2.1) plus '_' for service names such as _dmarc: c-ares reads
        // backslash escapes in query names, and the reader writes other bytes as \DDD, so
        // anything else could not be compared with the answer's owner names. Internationalized
        // domains come here as A-labels. Letters are folded so cache keys match exactly.
        if (c >= 'A' && c <= 'Z')
            out += static_cast<char>(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
            out += c;
        else
            return std::nullopt;
    }
    if (label == 0)
        return std::nullopt;
    return out;
}

}  // namespace outpost::dns::detail
