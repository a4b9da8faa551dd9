// RFC 7208 parsing and check_host() over a fake resolver, including the lookup limits.
#include "core/doctor/spf.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/unit/doctor/fake_dns.hpp"

using namespace outpost;
using namespace outpost::doctor;
using namespace outpost::doctor::test;

namespace {

spf_evaluation check(
    fake_dns& zone, const std::string& ip, const std::string& domain, spf_options options = {}
) {
    return run(check_host(zone, make_address(ip), domain, "", "mta.example.test", options));
}

std::string parse_error(std::string_view txt) {
    auto r = parse_spf(txt);
    auto* e = std::get_if<std::string>(&r);
    return e ? *e : std::string{};
}

}  // namespace

TEST_CASE("spf parser reads every mechanism and writes it back") {
    auto r = parse_spf(
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a a:mail.example.test/28//64 mx/24 ptr "
        "include:_spf.example.test exists:%{i}.bl.example.test ?all redirect=other.test"
    );
    REQUIRE(std::holds_alternative<spf_record>(r));
    const auto& rec = std::get<spf_record>(r);
    CHECK(rec.mechanisms.size() == 9);
    CHECK(rec.mechanisms[3].cidr4 == 28);
    CHECK(rec.mechanisms[3].cidr6 == 64);
    CHECK(rec.mechanisms[3].domain_spec == "mail.example.test");
    CHECK(rec.mechanisms[4].cidr4 == 24);
    CHECK(rec.mechanisms[8].qualifier == '?');
    CHECK(*rec.redirect == "other.test");
    CHECK(
        rec.text() ==
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a a:mail.example.test/28//64 mx/24 ptr "
        "include:_spf.example.test exists:%{i}.bl.example.test ?all redirect=other.test"
    );
}

TEST_CASE("spf parser rejects bad terms with a reason") {
    CHECK(parse_error("v=spf1 ip5:1.2.3.4 -all").find("unknown mechanism") != std::string::npos);
    CHECK(parse_error("v=spf1 ip4:1.2.3.400 -all").find("not an IPv4") != std::string::npos);
    CHECK(parse_error("v=spf1 ip4:1.2.3.4/33").find("prefix") != std::string::npos);
    CHECK(parse_error("v=spf1 ip6:192.0.2.1").find("not an IPv6") != std::string::npos);
    CHECK(parse_error("v=spf1 include -all").find("needs") != std::string::npos);
    CHECK(parse_error("v=spf1 redirect=a.test redirect=b.test").find("twice") != std::string::npos);
    CHECK(parse_error("v=spf1 exists:%{z}.test").find("macro") != std::string::npos);
    CHECK(parse_error("v=spf1 exists:%{ir1}.test").find("delimiter") != std::string::npos);
    CHECK(parse_error("v=spf1 include:localhost").find("fully qualified") != std::string::npos);
    CHECK(parse_error("v=spf1 -all:foo").find("all") != std::string::npos);
    CHECK(parse_error("v=spf10 -all") == "does not start with v=spf1");
    CHECK(parse_error("v=spf1 unknown-mod=x -all").empty());  // unknown modifiers are ignored
    CHECK(is_spf_record("V=SPF1 -all"));
    CHECK_FALSE(is_spf_record("v=spf1x"));
}

TEST_CASE("check_host passes ip4 and ip6 ranges and fails others on -all") {
    fake_dns zone;
    zone.txt_records["example.test"] = {"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/48 -all"};
    auto e = check(zone, "192.0.2.77", "example.test");
    CHECK(e.result == spf_result::pass);
    CHECK(e.matched == "ip4:192.0.2.0/24");
    CHECK(check(zone, "2001:db8:0:1::5", "example.test").result == spf_result::pass);
    CHECK(check(zone, "2001:db8:1::5", "example.test").result == spf_result::fail);
    auto f = check(zone, "198.51.100.1", "example.test");
    CHECK(f.result == spf_result::fail);
    CHECK(f.matched == "-all");
    CHECK(f.dns_lookups == 0);
    // An IPv4-mapped IPv6 client is its IPv4 address.
    CHECK(check(zone, "::ffff:192.0.2.1", "example.test").result == spf_result::pass);
}

TEST_CASE("check_host results for qualifiers, no record, several records and DNS errors") {
    fake_dns zone;
    zone.txt_records["soft.test"] = {"v=spf1 ~all"};
    zone.txt_records["neutral.test"] = {"v=spf1 ip4:192.0.2.1"};
    zone.txt_records["two.test"] = {"v=spf1 -all", "v=spf1 ~all"};
    zone.txt_records["other.test"] = {"google-site-verification=abc"};
    zone.txt_records["bad.test"] = {"v=spf1 ip4:999.1.1.1 -all"};
    zone.failing["broken.test"] = dns::status::servfail;
    CHECK(check(zone, "198.51.100.1", "soft.test").result == spf_result::softfail);
    CHECK(check(zone, "198.51.100.1", "neutral.test").result == spf_result::neutral);
    CHECK(check(zone, "198.51.100.1", "two.test").result == spf_result::permerror);
    CHECK(check(zone, "198.51.100.1", "other.test").result == spf_result::none);
    CHECK(check(zone, "198.51.100.1", "nowhere.test").result == spf_result::none);
    CHECK(check(zone, "198.51.100.1", "bad.test").result == spf_result::permerror);
    CHECK(check(zone, "198.51.100.1", "broken.test").result == spf_result::temperror);
}

TEST_CASE("check_host follows a, mx, include, redirect and exists") {
    fake_dns zone;
    zone.txt_records["example.test"] = {"v=spf1 a mx:mail.test/24 include:_spf.esp.test -all"};
    zone.addresses["example.test"] = {"192.0.2.10", "2001:db8::10"};
    zone.mx_records["mail.test"] = {{10, "mx1.mail.test"}, {20, "mx2.mail.test"}};
    zone.addresses["mx1.mail.test"] = {"198.51.100.1"};
    zone.addresses["mx2.mail.test"] = {"203.0.113.1"};
    zone.txt_records["_spf.esp.test"] = {"v=spf1 ip4:100.64.0.0/10 ?all"};
    zone.txt_records["redir.test"] = {"v=spf1 redirect=example.test"};
    zone.txt_records["ex.test"] = {"v=spf1 exists:%{ir}.%{v}.allow.test -all"};
    zone.addresses["1.2.0.192.in-addr.allow.test"] = {"127.0.0.2"};

    CHECK(check(zone, "192.0.2.10", "example.test").matched == "a");
    CHECK(check(zone, "2001:db8::10", "example.test").result == spf_result::pass);
    auto mx = check(zone, "203.0.113.200", "example.test");  // mx2's /24
    CHECK(mx.result == spf_result::pass);
    CHECK(mx.matched == "mx:mail.test/24");
    CHECK(mx.dns_lookups == 2);
    auto inc = check(zone, "100.70.1.1", "example.test");
    CHECK(inc.result == spf_result::pass);
    CHECK(inc.dns_lookups == 3);
    // include: only a pass matches; the included ?all is no match, so -all applies.
    CHECK(check(zone, "8.8.8.8", "example.test").result == spf_result::fail);
    auto r = check(zone, "192.0.2.10", "redir.test");
    CHECK(r.result == spf_result::pass);
    CHECK(r.matched_domain == "example.test");
    CHECK(check(zone, "192.0.2.1", "ex.test").result == spf_result::pass);
    CHECK(check(zone, "192.0.2.2", "ex.test").result == spf_result::fail);
}

TEST_CASE("check_host: include or redirect to a domain without SPF is permerror") {
    fake_dns zone;
    zone.txt_records["inc.test"] = {"v=spf1 include:missing.test -all"};
    zone.txt_records["red.test"] = {"v=spf1 redirect=missing.test"};
    CHECK(check(zone, "192.0.2.1", "inc.test").result == spf_result::permerror);
    CHECK(check(zone, "192.0.2.1", "red.test").result == spf_result::permerror);
}

TEST_CASE("check_host: more than 10 DNS-querying terms is permerror") {
    fake_dns zone;
    // A chain of includes: each include costs one lookup; the match sits at the far end.
    for (int i = 0; i < 11; ++i)
        zone.txt_records[fmt::format("l{}.test", i)] = {
            fmt::format("v=spf1 include:l{}.test -all", i + 1)};
    zone.txt_records["l11.test"] = {"v=spf1 ip4:192.0.2.1 -all"};
    auto e = check(zone, "192.0.2.1", "l0.test");
    CHECK(e.result == spf_result::permerror);
    CHECK(e.dns_lookups == 11);
    CHECK(e.reason.find("more than 10") != std::string::npos);

    // Ten are allowed: starting one step later the same chain passes.
    auto ok = check(zone, "192.0.2.1", "l1.test");
    CHECK(ok.result == spf_result::pass);
    CHECK(ok.dns_lookups == 10);
}

TEST_CASE("check_host: a, mx, exists and redirect count toward the limit; ip4 and all do not") {
    fake_dns zone;
    zone.txt_records["many.test"] = {
        "v=spf1 ip4:10.0.0.1 a:h1.test a:h2.test mx:h3.test exists:h4.test a:h5.test a:h6.test "
        "a:h7.test a:h8.test a:h9.test redirect=last.test"};
    for (int i = 1; i <= 9; ++i)
        zone.addresses[fmt::format("h{}.test", i)] = {"10.9.9.9"};
    zone.addresses.erase("h4.test");  // exists: with no A record: no match (one void lookup)
    zone.mx_records["h3.test"] = {{10, "h1.test"}};
    zone.txt_records["last.test"] = {"v=spf1 ip4:192.0.2.1 -all"};
    auto e = check(zone, "192.0.2.1", "many.test");
    CHECK(e.result == spf_result::pass);  // 9 mechanisms + redirect = 10
    CHECK(e.dns_lookups == 10);
    CHECK(e.void_lookups == 1);

    zone.txt_records["last.test"] = {"v=spf1 a:h1.test ip4:192.0.2.1 -all"};
    auto over = check(zone, "192.0.2.1", "many.test");
    CHECK(over.result == spf_result::permerror);
    CHECK(over.dns_lookups == 11);
}

TEST_CASE("check_host: more than 2 void lookups is permerror") {
    fake_dns zone;
    zone.txt_records["void.test"] = {
        "v=spf1 a:gone1.test a:gone2.test mx:gone3.test ip4:192.0.2.1 -all"};
    auto e = check(zone, "192.0.2.1", "void.test");
    CHECK(e.result == spf_result::permerror);
    CHECK(e.void_lookups == 3);
    CHECK(e.reason.find("void") != std::string::npos);

    zone.txt_records["void.test"] = {"v=spf1 a:gone1.test a:gone2.test ip4:192.0.2.1 -all"};
    auto two = check(zone, "192.0.2.1", "void.test");
    CHECK(two.result == spf_result::pass);
    CHECK(two.void_lookups == 2);
}

TEST_CASE("check_host: exhaustive mode counts what the whole record needs") {
    fake_dns zone;
    zone.txt_records["early.test"] = {
        "v=spf1 ip4:192.0.2.1 include:a.test include:b.test include:c.test -all"};
    zone.txt_records["a.test"] = {"v=spf1 a mx include:d.test -all"};
    zone.txt_records["b.test"] = {"v=spf1 a mx a:x.b.test mx:y.b.test -all"};
    zone.txt_records["c.test"] = {"v=spf1 a mx ptr -all"};
    zone.txt_records["d.test"] = {"v=spf1 ip4:10.0.0.0/8 -all"};
    for (auto n : {"a.test", "b.test", "c.test", "x.b.test"})
        zone.addresses[n] = {"10.1.1.1"};
    for (auto n : {"a.test", "b.test", "c.test", "y.b.test"})
        zone.mx_records[n] = {{10, "x.b.test"}};
    // The sending address matches first: a receiver stops there.
    CHECK(check(zone, "192.0.2.1", "early.test").result == spf_result::pass);
    spf_options all;
    all.exhaustive = true;
    auto worst = check(zone, "192.0.2.1", "early.test", all);
    CHECK(worst.dns_lookups == 13);  // 3 includes + (2 + 1) + 4 + 3
    CHECK(worst.result == spf_result::permerror);
}

TEST_CASE("check_host: ptr matches a forward-confirmed name under the domain") {
    fake_dns zone;
    zone.txt_records["p.test"] = {"v=spf1 ptr -all"};
    zone.ptr_records["192.0.2.5"] = {"mta.p.test", "other.test"};
    zone.addresses["mta.p.test"] = {"192.0.2.5"};
    zone.ptr_records["192.0.2.6"] = {"liar.p.test"};
    zone.addresses["liar.p.test"] = {"192.0.2.99"};
    CHECK(check(zone, "192.0.2.5", "p.test").result == spf_result::pass);
    CHECK(check(zone, "192.0.2.6", "p.test").result == spf_result::fail);
}

TEST_CASE("check_host expands macros: sender, reversal, digits, IPv6 nibbles") {
    fake_dns zone;
    zone.txt_records["m.test"] = {"v=spf1 exists:%{l}.%{o}.%{d2}.%{i1r}.ok.test -all"};
    zone.addresses["postmaster.m.test.m.test.192.ok.test"] = {"127.0.0.2"};
    CHECK(check(zone, "192.0.2.1", "m.test").result == spf_result::pass);
    zone.txt_records["six.test"] = {"v=spf1 exists:%{i}.six.ok.test -all"};
    zone.addresses["2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.six.ok.test"] =
        {"127.0.0.2"};
    CHECK(check(zone, "2001:db8::1", "six.test").result == spf_result::pass);
    CHECK(check(zone, "2001:db8::2", "six.test").result == spf_result::fail);
}
