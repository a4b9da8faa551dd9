// The DNS message reader and the interpretation of responses, including hostile input.
#include "core/dns/detail/message.hpp"

#include <cctype>
#include <random>

#include <doctest/doctest.h>

#include "tests/unit/dns/wire.hpp"

using namespace outpost::dns;
using namespace outpost::dns::detail;
using namespace outpost::dns::test;
using namespace std::chrono_literals;

namespace {

message parse_ok(const bytes& b) {
    auto m = parse_message(b);
    REQUIRE(m);
    return *m;
}

}  // namespace

TEST_CASE("reader decodes MX answers with their TTLs") {
    response r;
    r.qname = "example.test";
    r.qtype = rr_type::mx;
    r.answers = {
        mx_rr("example.test", 300, 20, "MX2.Example.Test"),
        mx_rr("example.test", 120, 10, "mx1.example.test")};
    auto m = parse_ok(build(r));
    CHECK(m.id == 0x1234);
    CHECK(m.response);
    CHECK(m.questions.size() == 1);
    CHECK(m.questions[0].name == "example.test");
    REQUIRE(m.answers.size() == 2);
    auto i = interpret(m, "example.test", rr_type::mx);
    CHECK(i.result == status::ok);
    CHECK(i.ttl == 120s);
    REQUIRE(i.records.size() == 2);
    CHECK(std::get<mx_rdata>(i.records[0]->data).exchange == "mx2.example.test");
    CHECK(std::get<mx_rdata>(i.records[0]->data).preference == 20);
}

TEST_CASE("reader keeps TXT character-strings apart and takes A and AAAA") {
    response r;
    r.qname = "t.test";
    r.qtype = rr_type::txt;
    r.answers = {
        txt_rr("t.test", 60, {std::string(255, 'a'), "tail"}),
        a_rr("t.test", 60, "192.0.2.1"),
        aaaa_rr("t.test", 60, "2001:db8::1"),
    };
    auto m = parse_ok(build(r));
    const auto& txt = std::get<txt_rdata>(m.answers[0].data);
    REQUIRE(txt.strings.size() == 2);
    CHECK(txt.strings[0].size() == 255);
    CHECK(txt.strings[1] == "tail");
    CHECK(std::get<boost::asio::ip::address_v4>(m.answers[1].data).to_string() == "192.0.2.1");
    CHECK(std::get<boost::asio::ip::address_v6>(m.answers[2].data).to_string() == "2001:db8::1");
}

TEST_CASE("reader takes TLSA records and the AD bit, and rejects TLSA rdata without data") {
    response r;
    r.qname = "_25._tcp.mx.test";
    r.qtype = rr_type::tlsa;
    r.authenticated = true;
    r.answers = {tlsa_rr("_25._tcp.mx.test", 60, 3, 1, 1, bytes{0x01, 0x02, 0x03})};
    auto m = parse_ok(build(r));
    CHECK(m.authenticated);
    const auto& t = std::get<tlsa_rdata>(m.answers[0].data);
    CHECK(t.usage == 3);
    CHECK(t.selector == 1);
    CHECK(t.matching_type == 1);
    CHECK(t.data == std::vector<std::uint8_t>{0x01, 0x02, 0x03});
    r.authenticated = false;
    CHECK_FALSE(parse_ok(build(r)).authenticated);
    // Usage, selector and matching type with no association data (RFC 6698 §2.1 needs some).
    r.answers = {tlsa_rr("_25._tcp.mx.test", 60, 3, 1, 1, bytes{})};
    CHECK_FALSE(parse_message(build(r)));
}

TEST_CASE("reader follows compression pointers") {
    // Header, question "a.test" at 12, then an answer whose owner is a pointer to offset 12 and
    // whose MX exchange is "mx" + pointer to "test" (offset 14).
    bytes b;
    put16(b, 1);
    put16(b, 0x8180);
    put16(b, 1);
    put16(b, 1);
    put16(b, 0);
    put16(b, 0);
    put_name(b, "a.test");
    put16(b, rr_type::mx);
    put16(b, class_in);
    b.insert(b.end(), {0xC0, 12});
    put16(b, rr_type::mx);
    put16(b, class_in);
    put32(b, 30);
    put16(b, 2 + 3 + 2);
    put16(b, 5);
    b.insert(b.end(), {2, 'm', 'x', 0xC0, 14});
    auto m = parse_ok(b);
    REQUIRE(m.answers.size() == 1);
    CHECK(m.answers[0].owner == "a.test");
    CHECK(std::get<mx_rdata>(m.answers[0].data).exchange == "mx.test");
}

TEST_CASE("reader rejects compression loops and forward pointers") {
    bytes b;
    put16(b, 1);
    put16(b, 0x8180);
    put16(b, 1);
    put16(b, 0);
    put16(b, 0);
    put16(b, 0);
    SUBCASE("pointer to itself") {
        b.insert(b.end(), {0xC0, 12});
    }
    SUBCASE("pointer forwards") {
        b.insert(b.end(), {0xC0, 14, 1, 'a', 0});
    }
    SUBCASE("two pointers to each other") {
        b.insert(b.end(), {1, 'a', 0xC0, 16, 0xC0, 12});
        b[12] = 0xC0;
        b[13] = 14;
    }
    SUBCASE("reserved label type") {
        b.insert(b.end(), {0x41, 'a', 0});
    }
    put16(b, 1);
    put16(b, 1);
    CHECK_FALSE(parse_message(b));
}

TEST_CASE("reader rejects names over 255 bytes and labels over 63") {
    response r;
    r.qname = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
              std::string(61, 'd');
    CHECK(parse_message(build(r)));  // 253 characters: 255 bytes on the wire
    r.qname += "e";
    CHECK_FALSE(parse_message(build(r)));
    bytes b = build(response{});
    b.resize(12);
    b[5] = 1;  // one question
    b.push_back(64);
    b.insert(b.end(), 64, 'x');
    b.push_back(0);
    put16(b, 1);
    put16(b, 1);
    CHECK_FALSE(parse_message(b));
}

TEST_CASE("reader rejects every truncation of a valid message") {
    response r;
    r.qname = "example.test";
    r.qtype = rr_type::mx;
    r.answers = {
        mx_rr("example.test", 300, 10, "mx1.example.test"),
        txt_rr("example.test", 5, {"v=spf1 -all"})};
    r.authorities = {soa_rr("example.test", 60, 30)};
    auto full = build(r);
    CHECK(parse_message(full));
    for (std::size_t n = 0; n < full.size(); ++n) {
        bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        CHECK_FALSE(parse_message(cut));
    }
}

TEST_CASE("reader rejects rdata whose length disagrees with its type") {
    response r;
    r.qname = "x.test";
    r.answers = {a_rr("x.test", 1, "192.0.2.1")};
    SUBCASE("A with 5 bytes") {
        r.answers[0].rdata.push_back(0);
    }
    SUBCASE("MX with a trailing byte") {
        r.answers[0] = mx_rr("x.test", 1, 1, "mx.test");
        r.answers[0].rdata.push_back(0);
    }
    SUBCASE("TXT string longer than the rdata") {
        r.answers[0] = txt_rr("x.test", 1, {"abc"});
        r.answers[0].rdata[0] = 10;
    }
    SUBCASE("empty TXT") {
        r.answers[0] = rr{"x.test", rr_type::txt, 1, {}};
    }
    CHECK_FALSE(parse_message(build(r)));
}

namespace {

// A name as the reader must give it: lower-case letters, digits, '-', '_', '.' between labels,
// and \DDD escapes for every other byte (RFC 1035 §5.1).
bool well_formed_name(std::string_view n) {
    for (std::size_t i = 0; i < n.size(); ++i) {
        char c = n[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
            continue;
        if (c == '\\' && i + 3 < n.size() && std::isdigit(static_cast<unsigned char>(n[i + 1])) &&
            std::isdigit(static_cast<unsigned char>(n[i + 2])) &&
            std::isdigit(static_cast<unsigned char>(n[i + 3]))) {
            i += 3;
            continue;
        }
        return false;
    }
    return true;
}

bool well_formed_names(const message& m) {
    for (const auto& q : m.questions)
        if (!well_formed_name(q.name))
            return false;
    for (const auto* section : {&m.answers, &m.authorities})
        for (const auto& r : *section) {
            if (!well_formed_name(r.owner))
                return false;
            if (const auto* mx = std::get_if<mx_rdata>(&r.data);
                mx && !well_formed_name(mx->exchange))
                return false;
            if (const auto* n = std::get_if<name_rdata>(&r.data); n && !well_formed_name(n->name))
                return false;
        }
    return true;
}

}  // namespace

TEST_CASE("reader survives random garbage and what it accepts is well formed") {
    std::mt19937 rng(5321);
    response r;
    r.qname = "example.test";
    r.qtype = rr_type::mx;
    r.answers = {mx_rr("example.test", 300, 10, "mx1.example.test")};
    auto base = build(r);
    REQUIRE(parse_message(base));
    int accepted = 0, rejected = 0, bad_names = 0, short_accepted = 0, stray_records = 0;
    for (int i = 0; i < 20000; ++i) {
        auto b = base;
        for (int k = 0; k < 3; ++k)
            b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
        auto m = parse_message(b);  // must not crash or hang
        if (m) {
            ++accepted;
            bad_names += well_formed_names(*m) ? 0 : 1;
            // What interpret uses are records of the answer section.
            for (const auto* rec : interpret(*m, "example.test", rr_type::mx).records)
                if (rec < m->answers.data() || rec >= m->answers.data() + m->answers.size())
                    ++stray_records;
        } else {
            ++rejected;
        }
        bytes noise(rng() % 64);
        for (auto& x : noise)
            x = static_cast<std::uint8_t>(rng());
        auto n = parse_message(noise);
        if (n)
            bad_names += well_formed_names(*n) ? 0 : 1;
        // Shorter than the 12-byte header: nothing to read.
        if (n && noise.size() < 12)
            ++short_accepted;
    }
    // Both outcomes occur, so the mutations reach past the parts the reader ignores.
    CHECK(accepted > 1000);
    CHECK(rejected > 1000);
    CHECK(bad_names == 0);
    CHECK(short_accepted == 0);
    CHECK(stray_records == 0);
}

TEST_CASE("names with odd bytes are escaped, not taken literally") {
    response r;
    r.qname = "x.test";
    r.qtype = rr_type::ptr;
    bytes target;
    target.insert(target.end(), {5, 'a', '.', 'b', '\n', 0xFF, 4, 't', 'e', 's', 't', 0});
    r.answers = {rr{"x.test", rr_type::ptr, 1, target}};
    auto m = parse_ok(build(r));
    CHECK(std::get<name_rdata>(m.answers[0].data).name == "a\\046b\\010\\255.test");
}

TEST_CASE("interpretation follows CNAME chains and ignores records off the chain") {
    response r;
    r.qname = "www.test";
    r.answers = {
        name_rr("www.test", rr_type::cname, 600, "web.test"),
        a_rr("other.test", 600, "192.0.2.9"),
        a_rr("web.test", 300, "192.0.2.1"),
    };
    auto m = parse_ok(build(r));
    auto i = interpret(m, "www.test", rr_type::a);
    CHECK(i.result == status::ok);
    REQUIRE(i.records.size() == 1);
    CHECK(i.records[0]->owner == "web.test");
    CHECK(i.ttl == 300s);

    r.answers = {
        name_rr("www.test", rr_type::cname, 60, "web.test"), a_rr("web.test", 300, "192.0.2.1")};
    CHECK(interpret(parse_ok(build(r)), "www.test", rr_type::a).ttl == 60s);

    // A CNAME loop ends as "no data" after a bounded number of hops.
    r.answers = {
        name_rr("www.test", rr_type::cname, 60, "web.test"),
        name_rr("web.test", rr_type::cname, 60, "www.test")};
    CHECK(interpret(parse_ok(build(r)), "www.test", rr_type::a).result == status::nodata);
}

TEST_CASE("negative answers take their TTL from the SOA (RFC 2308)") {
    response r;
    r.qname = "gone.test";
    r.rcode = rcode::nxdomain;
    r.authorities = {soa_rr("test", 900, 300)};
    auto i = interpret(parse_ok(build(r)), "gone.test", rr_type::mx);
    CHECK(i.result == status::nxdomain);
    CHECK(i.ttl == 300s);

    r.rcode = rcode::noerror;
    r.authorities = {soa_rr("test", 60, 300)};
    i = interpret(parse_ok(build(r)), "gone.test", rr_type::mx);
    CHECK(i.result == status::nodata);
    CHECK(i.ttl == 60s);

    r.authorities.clear();
    CHECK(interpret(parse_ok(build(r)), "gone.test", rr_type::mx).ttl == 0s);
}

TEST_CASE("rcodes map to statuses") {
    response r;
    r.qname = "x.test";
    r.rcode = rcode::servfail;
    CHECK(interpret(parse_ok(build(r)), "x.test", rr_type::a).result == status::servfail);
    r.rcode = rcode::refused;
    CHECK(interpret(parse_ok(build(r)), "x.test", rr_type::a).result == status::error);
    r.rcode = rcode::noerror;
    r.answers = {mx_rr("x.test", 10, 0, "")};  // a null MX is an ordinary record
    auto parsed = parse_ok(build(r));          // interpret() points into it
    auto i = interpret(parsed, "x.test", rr_type::mx);
    CHECK(i.result == status::ok);
    CHECK(std::get<mx_rdata>(i.records[0]->data).exchange == "");
}

TEST_CASE("TTLs with the top bit set read as zero (RFC 2181 §8)") {
    response r;
    r.qname = "x.test";
    r.answers = {a_rr("x.test", 0x80000000u, "192.0.2.1")};
    CHECK(interpret(parse_ok(build(r)), "x.test", rr_type::a).ttl == 0s);
}

TEST_CASE("reverse names for PTR look-ups") {
    using boost::asio::ip::make_address;
    CHECK(reverse_name(make_address("192.0.2.10")) == "10.2.0.192.in-addr.arpa");
    CHECK(
        reverse_name(make_address("2001:db8::1")) ==
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    );
}

TEST_CASE("names are normalized for queries and cache keys") {
    CHECK(normalize_name("Example.COM.") == "example.com");
    CHECK(normalize_name("_dmarc.example.com") == "_dmarc.example.com");
    CHECK_FALSE(normalize_name(""));
    CHECK_FALSE(normalize_name("."));
    CHECK_FALSE(normalize_name("a..b"));
    CHECK_FALSE(normalize_name("a b.test"));
    CHECK_FALSE(normalize_name("a\\.b.test"));
    CHECK_FALSE(normalize_name(std::string(64, 'a') + ".test"));
    CHECK(normalize_name(std::string(63, 'a') + ".test"));
}
