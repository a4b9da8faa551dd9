// What a TLSA answer asks of a connection (RFC 7672): the pure decision.
#include "core/tlspolicy/dane.hpp"

#include <doctest/doctest.h>

using namespace outpost;
using namespace outpost::tlspolicy;
using namespace std::chrono_literals;

namespace {

dns::answer<dns::tlsa_record> secure(std::vector<dns::tlsa_record> records) {
    return {dns::status::ok, std::move(records), 300s, true};
}

dns::tlsa_record rec(std::uint8_t usage, std::uint8_t selector, std::uint8_t type) {
    return {usage, selector, type, std::vector<std::uint8_t>(32, 0x5A)};
}

}  // namespace

TEST_CASE("DANE: the TLSA owner name carries the port") {
    CHECK(tlsa_name("mx.example.com", 25) == "_25._tcp.mx.example.com");
    CHECK(tlsa_name("mx.example.com", 2526) == "_2526._tcp.mx.example.com");
}

TEST_CASE("DANE: secure usable records authenticate; PKIX usages and odd parameters do not") {
    auto d = decide_dane(
        "mx.example.com", true,
        secure({rec(3, 1, 1), rec(2, 0, 2), rec(1, 1, 1), rec(0, 0, 1), rec(3, 2, 1), rec(3, 1, 3)})
    );
    CHECK(d.state == dane_state::authenticate);
    REQUIRE(d.usable.size() == 2);
    CHECK(d.usable[0].usage == 3);
    CHECK(d.usable[1].usage == 2);
    CHECK(d.why.find("mx.example.com") != std::string::npos);
}

TEST_CASE("DANE: secure records that are all unusable still make TLS mandatory") {
    auto d = decide_dane("mx.example.com", true, secure({rec(1, 1, 1), rec(0, 0, 1)}));
    CHECK(d.state == dane_state::encrypt_only);
    CHECK(d.usable.empty());
}

TEST_CASE("DANE: nothing applies without DNSSEC or without records") {
    // An insecure host: its TLSA answer is not even considered.
    CHECK(decide_dane("mx", false, secure({rec(3, 1, 1)})).state == dane_state::none);
    // Records the resolver did not validate say nothing.
    auto insecure = secure({rec(3, 1, 1)});
    insecure.authenticated = false;
    CHECK(decide_dane("mx", true, insecure).state == dane_state::none);
    CHECK(
        decide_dane("mx", true, {dns::status::nxdomain, {}, 60s, true}).state == dane_state::none
    );
    CHECK(decide_dane("mx", true, {dns::status::nodata, {}, 60s, true}).state == dane_state::none);
}

TEST_CASE("DANE: a failed TLSA look-up for a secure host makes the host unusable") {
    // A validating resolver answers SERVFAIL for a forged (bogus) answer: no downgrade.
    for (auto s : {dns::status::servfail, dns::status::timeout, dns::status::error}) {
        auto d = decide_dane("mx.example.com", true, {s, {}, 0s, false});
        CHECK(d.state == dane_state::lookup_failed);
        CHECK(d.why.find("TLSA look-up for mx.example.com failed") != std::string::npos);
    }
    // For an insecure host a failure does not matter: there was nothing to look up.
    CHECK(
        decide_dane("mx", false, {dns::status::servfail, {}, 0s, false}).state == dane_state::none
    );
}

TEST_CASE("DANE: records print in presentation form") {
    dns::tlsa_record r{3, 1, 1, {0x0A, 0xFF}};
    CHECK(tlsa_text({r, {2, 0, 2, {0x01}}}) == "3 1 1 0AFF\n2 0 2 01\n");
    CHECK(dane_policy_id("mx.example.com") == "tlsa:mx.example.com");
}
