// The bounce domain's MX check and the DNSBL check over a fake resolver.
#include "core/doctor/checks.hpp"

#include <algorithm>

#include <doctest/doctest.h>

#include "tests/unit/doctor/fake_dns.hpp"

using namespace outpost;
using namespace outpost::doctor;
using namespace outpost::doctor::test;

namespace {

// This relay: a plain listener on 192.0.2.25:25, and an implicit-TLS one on 192.0.2.26:465.
std::vector<inbound_address> relay() {
    return {{make_address("192.0.2.25"), 25, false}, {make_address("192.0.2.26"), 465, true}};
}

finding only(const std::vector<finding>& findings) {
    REQUIRE(findings.size() == 1);
    return findings[0];
}

finding mx_of(fake_dns& zone, const std::string& domain = "bounces.example.test") {
    return only(run(check_mx(zone, domain, relay(), "mta.example.test")));
}

const std::string fix = "bounces.example.test. IN MX 10 mta.example.test.";

}  // namespace

TEST_CASE("mx passes when every MX host is an address where this relay takes port 25") {
    fake_dns zone;
    zone.mx_records["bounces.example.test"] = {{10, "mx.example.test"}};
    zone.addresses["mx.example.test"] = {"192.0.2.25"};
    auto f = mx_of(zone);
    CHECK(f.level == verdict::pass);
    CHECK(f.check == "mx");
    CHECK(f.subject == "bounces.example.test");
    CHECK(f.message == "MX 10 mx.example.test (192.0.2.25): this relay accepts there on port 25");
    CHECK(f.fix.empty());
}

TEST_CASE("mx warns when MX hosts point elsewhere, wholly or in part") {
    fake_dns zone;
    zone.mx_records["bounces.example.test"] = {{10, "mx.other.test"}};
    zone.addresses["mx.other.test"] = {"198.51.100.7"};
    auto f = mx_of(zone);
    CHECK(f.level == verdict::warn);
    CHECK(f.message.starts_with("MX 10 mx.other.test (198.51.100.7) is not this relay"));
    CHECK(f.fix == fix);

    zone.mx_records["bounces.example.test"] = {{20, "mx.example.test"}, {10, "mx.other.test"}};
    zone.addresses["mx.example.test"] = {"192.0.2.25"};
    f = mx_of(zone);
    CHECK(f.level == verdict::warn);
    CHECK(f.message.starts_with(
        "MX 20 mx.example.test (192.0.2.25) reaches this relay, but MX 10 mx.other.test "
        "(198.51.100.7) does not"
    ));
    CHECK(f.fix == "bounces.example.test. IN MX 20 mx.example.test.");
}

TEST_CASE("mx warns when the MX is this relay but no listener takes plain SMTP on port 25") {
    fake_dns zone;
    zone.mx_records["bounces.example.test"] = {{10, "mx.example.test"}};
    zone.addresses["mx.example.test"] = {"192.0.2.26"};
    auto f = mx_of(zone);
    CHECK(f.level == verdict::warn);
    CHECK(f.message.find("only 192.0.2.26:465 (implicit TLS)") != std::string::npos);
    CHECK(f.fix == "[[listener]] address = \"192.0.2.26:25\"");
}

TEST_CASE("mx fails on NXDOMAIN, no MX, null MX and MX hosts without addresses") {
    fake_dns zone;
    auto f = mx_of(zone);
    CHECK(f.level == verdict::fail);
    CHECK(f.message.find("NXDOMAIN") != std::string::npos);
    CHECK(f.fix == fix);

    zone.txt_records["bounces.example.test"] = {"v=spf1 -all"};
    f = mx_of(zone);
    CHECK(f.level == verdict::fail);
    CHECK(f.message.starts_with("no MX record"));
    CHECK(f.fix == fix);

    zone.mx_records["bounces.example.test"] = {{0, ""}};
    f = mx_of(zone);
    CHECK(f.level == verdict::fail);
    CHECK(f.message.starts_with("null MX (RFC 7505)"));
    CHECK(f.fix.starts_with(fix));

    zone.mx_records["bounces.example.test"] = {{10, "gone.example.test"}};
    f = mx_of(zone);
    CHECK(f.level == verdict::fail);
    CHECK(f.message.starts_with("MX 10 gone.example.test (nxdomain): no MX host has an address"));

    zone.failing["bounces.example.test"] = dns::status::servfail;
    f = mx_of(zone);
    CHECK(f.level == verdict::fail);
    CHECK(f.message == "MX look-up failed (servfail)");
}

TEST_CASE("mx: no MX but the domain's own address reaching this relay is only a warning") {
    fake_dns zone;
    zone.addresses["bounces.example.test"] = {"192.0.2.25"};
    auto f = mx_of(zone);
    CHECK(f.level == verdict::warn);
    CHECK(f.message.starts_with("no MX record; senders fall back to the domain's own address"));
    CHECK(f.fix == fix);
}

TEST_CASE("dnsbl names reverse IPv4 octets and IPv6 nibbles under the zone") {
    CHECK(
        dnsbl_name(make_address("203.0.113.10"), "zen.spamhaus.org") ==
        "10.113.0.203.zen.spamhaus.org"
    );
    CHECK(
        dnsbl_name(make_address("2001:db8::1"), "bl.test.") ==
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test"
    );
    CHECK(
        default_dnsbl_zones() ==
        std::vector<std::string>{"zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"}
    );
}

TEST_CASE("dnsbl: NXDOMAIN passes, 127.0.0.x fails with the reason, refusals and errors warn") {
    fake_dns zone;
    auto ip = make_address("203.0.113.10");
    auto check = [&] { return only(run(check_dnsbl(zone, ip, "bl.test"))); };
    auto f = check();
    CHECK(f.level == verdict::pass);
    CHECK(f.check == "dnsbl");
    CHECK(f.subject == "203.0.113.10");
    CHECK(f.message == "not listed in bl.test");

    zone.addresses["10.113.0.203.bl.test"] = {"127.0.0.2"};
    zone.txt_records["10.113.0.203.bl.test"] = {"listed: see https://bl.test/lookup"};
    f = check();
    CHECK(f.level == verdict::fail);
    CHECK(f.message == "listed in bl.test (127.0.0.2): \"listed: see https://bl.test/lookup\"");

    zone.addresses["10.113.0.203.bl.test"] = {"127.255.255.254"};
    f = check();
    CHECK(f.level == verdict::warn);
    CHECK(
        f.message.starts_with("unknown in bl.test: the list answered 127.255.255.254: queries "
                              "through public or open resolvers are refused")
    );

    zone.addresses["10.113.0.203.bl.test"] = {"192.0.2.1"};
    f = check();
    CHECK(f.level == verdict::warn);
    CHECK(f.message.starts_with("unknown in bl.test: unexpected answer 192.0.2.1"));

    zone.failing["10.113.0.203.bl.test"] = dns::status::timeout;
    f = check();
    CHECK(f.level == verdict::warn);
    CHECK(f.message == "unknown in bl.test: the look-up of 10.113.0.203.bl.test failed (timeout)");
}

TEST_CASE("examine runs the MX check, DNSBL only when zones are given, and softens retired keys") {
    fake_dns zone;
    zone.mx_records["bounces.example.test"] = {{10, "mx.example.test"}};
    zone.addresses["mx.example.test"] = {"192.0.2.25"};
    scope s;
    s.domains = {"example.test"};
    s.keys.push_back({"example.test", "old", std::string("cannot load"), true, false});
    s.bounce_domain = "bounces.example.test";
    s.inbound = relay();
    s.mx_host = "mta.example.test";
    auto count = [](const std::vector<finding>& v, std::string_view check) {
        return std::count_if(v.begin(), v.end(), [&](const auto& f) { return f.check == check; });
    };
    auto findings = run(examine(zone, s));
    CHECK(count(findings, "mx") == 1);
    CHECK(count(findings, "dnsbl") == 0);
    auto retired = std::find_if(findings.begin(), findings.end(), [](const auto& f) {
        return f.subject == "old._domainkey.example.test";
    });
    REQUIRE(retired != findings.end());
    CHECK(retired->level == verdict::warn);
    CHECK(retired->message.starts_with("retired key (sign = false): cannot load"));
    // A domain with only a retired key is not signed.
    CHECK(std::any_of(findings.begin(), findings.end(), [](const auto& f) {
        return f.check == "dkim" && f.level == verdict::fail && f.subject == "example.test";
    }));

    s.sources.push_back({make_address("203.0.113.10"), "mta.example.test"});
    s.dnsbl_zones = {"a.test", "b.test"};
    findings = run(examine(zone, s));
    CHECK(count(findings, "dnsbl") == 2);

    s.bounce_domain.clear();
    findings = run(examine(zone, s));
    auto mx = std::find_if(findings.begin(), findings.end(), [](const auto& f) {
        return f.check == "mx";
    });
    REQUIRE(mx != findings.end());
    CHECK(mx->level == verdict::warn);
    CHECK(mx->fix == "[bounce] domain = \"bounces.example.test\"");
}

TEST_CASE("dmarc p=none: the suggested record is the published one with p=quarantine, nothing else"
) {
    fake_dns zone;
    zone.txt_records["_dmarc.example.test"] = {"v=DMARC1; p=none; rua=mailto:d@example.test"};
    auto findings = run(check_dmarc(zone, "example.test", "", false));
    auto it = std::find_if(findings.begin(), findings.end(), [](const finding& f) {
        return f.level == verdict::warn && f.message.find("p=none") == 0;
    });
    REQUIRE(it != findings.end());
    CHECK(
        it->fix ==
        "_dmarc.example.test. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:d@example.test\""
    );
}

TEST_CASE("dmarc rua: the report address is named, and a report domain elsewhere authorises it") {
    auto find = [](const std::vector<finding>& findings, std::string_view start) {
        return std::find_if(findings.begin(), findings.end(), [&](const finding& f) {
            return f.message.find(start) == 0;
        });
    };
    fake_dns zone;
    zone.txt_records["_dmarc.example.test"] = {"v=DMARC1; p=reject; rua=mailto:d@example.test"};
    auto missing = run(check_dmarc(zone, "example.test", "", false, "dmarc@example.test"));
    auto it = find(missing, "rua= does not send aggregate reports to dmarc@example.test");
    REQUIRE(it != missing.end());
    CHECK(it->level == verdict::warn);
    CHECK(
        it->fix ==
        "_dmarc.example.test. IN TXT \"v=DMARC1; p=reject; "
        "rua=mailto:d@example.test,mailto:dmarc@example.test\""
    );

    zone.txt_records["_dmarc.example.test"] = {
        "v=DMARC1; p=reject; rua=mailto:d@example.test, mailto:DMARC@reports.example.test!10m"};
    auto same_org = run(check_dmarc(zone, "example.test", "", false, "dmarc@reports.example.test"));
    it = find(same_org, "rua= sends aggregate reports to dmarc@reports.example.test");
    REQUIRE(it != same_org.end());
    CHECK(it->level == verdict::pass);

    zone.txt_records["_dmarc.example.test"] = {"v=DMARC1; p=reject; rua=mailto:r@reports.other"};
    auto elsewhere = run(check_dmarc(zone, "example.test", "", false, "r@reports.other"));
    it = find(elsewhere, "reports.other is outside example.test");
    REQUIRE(it != elsewhere.end());
    CHECK(it->level == verdict::fail);
    CHECK(it->fix == "example.test._report._dmarc.reports.other. IN TXT \"v=DMARC1\"");
    zone.txt_records["example.test._report._dmarc.reports.other"] = {"v=DMARC1"};
    auto authorised = run(check_dmarc(zone, "example.test", "", false, "r@reports.other"));
    it = find(authorised, "rua= sends aggregate reports to r@reports.other, authorised at");
    REQUIRE(it != authorised.end());
    CHECK(it->level == verdict::pass);
}
