// Known answers: the signed message of RFC 8463 Appendix A, reproduced from its keys.
#include <algorithm>
#include <sstream>

#include <doctest/doctest.h>

#include "core/dkim/detail/signature.hpp"
#include "core/dkim/detail/tag_list.hpp"
#include "core/dkim/verify.hpp"
#include "core/message/header.hpp"
#include "core/util/text.hpp"
#include "tests/unit/dkim/test_support.hpp"

using namespace outpost;
using namespace outpost::dkim;

namespace {

// The .dns file: "name record" per line.
test::records dns_records() {
    test::records out;
    std::istringstream in(test::read_data("rfc8463.dns"));
    std::string line;
    while (std::getline(in, line)) {
        auto sp = line.find(' ');
        if (sp != std::string::npos)
            out[line.substr(0, sp)] = line.substr(sp + 1);
    }
    return out;
}

constexpr std::int64_t rfc8463_time = 1528637909;

// Re-creates the b= of an existing DKIM-Signature field from the message and a private key.
std::string resign(
    const message::message_view& m, const message::header_field& sig, const private_key& key
) {
    auto tags = parse_tag_list(sig.value);
    REQUIRE(tags);
    std::vector<std::string> names;
    for (const auto& n : split_colon_list(find_tag(*tags, "h")->value))
        names.push_back(util::to_lower(n));
    auto selected = detail::select_fields(m.fields, names);
    auto value_offset = static_cast<std::size_t>(sig.value.data() - sig.raw.data());
    auto own = std::string(sig.raw.substr(0, value_offset)) + without_b_value(sig.value, *tags);
    auto data = detail::signed_data(selected, canonicalization::relaxed, own);
    return util::base64_encode(key.sign(data));
}

}  // namespace

TEST_CASE("RFC 8463 Appendix A: the body hash is reproduced") {
    auto eml = test::read_data("rfc8463.eml");
    auto m = message::view_message(eml);
    auto bh = detail::body_hash(canonicalization::relaxed, m.body);
    CHECK(
        util::base64_encode(std::string_view(reinterpret_cast<const char*>(bh.data()), bh.size())
        ) == "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
    );
}

TEST_CASE("RFC 8463 Appendix A: both signatures are reproduced byte for byte from the keys") {
    auto eml = test::read_data("rfc8463.eml");
    auto m = message::view_message(eml);
    auto sigs = message::find_fields(m.fields, "dkim-signature");
    REQUIRE(sigs.size() == 2);
    // The Ed25519 key is given in the RFC as a seed; the PEM file holds the same seed.
    auto seed = util::base64_decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=");
    REQUIRE(seed);
    auto ed = test::unwrap(private_key::from_ed25519_seed(*seed));
    auto ed_pem = test::unwrap(private_key::from_pem(test::read_data("rfc8463-ed25519.pem")));
    auto rsa = test::unwrap(private_key::from_pem(test::read_data("rfc8463-rsa.pem")));
    CHECK(ed.public_key_base64() == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    CHECK(ed_pem.public_key_base64() == ed.public_key_base64());
    CHECK(rsa.bits() == 1024);
    auto records = dns_records();
    CHECK(ed.dns_record() == records["brisbane._domainkey.football.example.com"]);
    CHECK(rsa.dns_record() == records["test._domainkey.football.example.com"]);

    auto b_of = [](const message::header_field& f) {
        auto tags = parse_tag_list(f.value);
        REQUIRE(tags);
        return strip_fws(find_tag(*tags, "b")->value);
    };
    CHECK(resign(m, *sigs[0], ed) == b_of(*sigs[0]));
    CHECK(resign(m, *sigs[1], rsa) == b_of(*sigs[1]));
}

TEST_CASE("RFC 8463 Appendix A: both signatures verify, and fail when the message changes") {
    auto eml = test::read_data("rfc8463.eml");
    auto lookup = test::lookup_of(dns_records());
    verify_options o;
    o.now = rfc8463_time;
    auto results = verify(message::view_message(eml), lookup, o);
    REQUIRE(results.size() == 2);
    for (const auto& r : results) {
        INFO(r.algorithm, ": ", r.reason);
        CHECK(r.status == result::pass);
    }
    CHECK(results[0].algorithm == "ed25519-sha256");
    CHECK(results[1].algorithm == "rsa-sha256");

    auto body_changed = eml;
    body_changed.replace(body_changed.find("hungry"), 6, "HUNGRY");
    auto body_results = verify(message::view_message(body_changed), lookup, o);
    REQUIRE(body_results.size() == 2);
    for (const auto& r : body_results) {
        CHECK(r.status == result::fail);
        CHECK(r.reason == "body hash mismatch");
    }
    auto subject_changed = eml;
    subject_changed.replace(subject_changed.find("dinner"), 6, "supper");
    auto subject_results = verify(message::view_message(subject_changed), lookup, o);
    REQUIRE(subject_results.size() == 2);
    for (const auto& r : subject_results) {
        CHECK(r.status == result::fail);
        CHECK(r.reason == "signature did not verify");
    }
    // Without the key records the result is a temporary error, never a pass.
    auto keyless = verify(message::view_message(eml), test::lookup_of({}), o);
    REQUIRE(keyless.size() == 2);
    for (const auto& r : keyless)
        CHECK(r.status == result::temperror);
}
