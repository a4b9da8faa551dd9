// Unit tests for dkim::signer, the daemon's signing step: From: rules, key choice, dual signing,
// and ARC sealing with cv=none, pass and fail, and the i=50 limit.
#include "core/dkim/signer.hpp"

#include <doctest/doctest.h>

#include "core/dkim/detail/tag_list.hpp"
#include "core/util/text.hpp"
#include "tests/unit/dkim/test_support.hpp"

using namespace outpost;
using namespace outpost::dkim;

namespace {

constexpr std::int64_t now = 1800000000;

const std::string plain =
    "From: Joe <joe@example.com>\r\n"
    "To: someone@example.net\r\n"
    "Subject: hi\r\n"
    "\r\n"
    "body\r\n";

signer_settings settings_with_arc(std::string arc_domain = "relay.example") {
    signer_settings s;
    s.keys.push_back({"example.com", "rsa", test::rsa_key(), true});
    s.keys.push_back({"example.com", "ed", test::ed_key(), true});
    s.arc = arc_key{"mta." + arc_domain, arc_domain, "arc", test::ed_key2()};
    return s;
}

test::records all_records() {
    return {
        {"rsa._domainkey.example.com", test::rsa_key().dns_record()},
        {"ed._domainkey.example.com", test::ed_key().dns_record()},
        {"arc._domainkey.relay.example", test::ed_key2().dns_record()},
        {"arc._domainkey.second.example", test::rsa_key2().dns_record()},
    };
}

sign_context context() {
    sign_context c;
    c.time = now;
    c.client_ip = "127.0.0.1";
    c.allowed_network = "127.0.0.0/8";
    c.lookup = test::lookup_of(all_records());
    return c;
}

verify_options at_now() {
    verify_options o;
    o.now = now;
    return o;
}

sign_outcome sign_plain(const std::string& msg, signer_settings s = settings_with_arc()) {
    return signer(std::move(s)).sign({}, msg, context());
}

std::string tag_value(std::string_view field_value, std::string_view name) {
    auto tags = parse_tag_list(field_value);
    REQUIRE(tags);
    const auto* t = find_tag(*tags, name);
    REQUIRE(t);
    return std::string(t->value);
}

}  // namespace

TEST_CASE("a message without From: is not signed, with the reason") {
    auto out = sign_plain("To: a@example.net\r\n\r\nbody\r\n");
    CHECK_FALSE(out.is_signed());
    CHECK(out.reason == skip_reason::no_from);
    CHECK(out.header_block.empty());
    CHECK(out.detail.find("no From:") != std::string::npos);
}

TEST_CASE("a message with several From: fields is not signed, with the reason") {
    auto out = sign_plain("From: a@example.com\r\nFrom: b@example.com\r\n\r\nbody\r\n");
    CHECK(out.reason == skip_reason::several_from);
    CHECK(out.header_block.empty());
    CHECK(out.detail.find("2 From: fields") != std::string::npos);
}

TEST_CASE("From: without a parsable mailbox, or in several domains, is not signed") {
    CHECK(sign_plain("From: nobody\r\n\r\n").reason == skip_reason::unparsable_from);
    CHECK(sign_plain("From: undisclosed:;\r\n\r\n").reason == skip_reason::unparsable_from);
    auto two = sign_plain("From: a@example.com, b@example.org\r\n\r\n");
    CHECK(two.reason == skip_reason::several_domains);
    CHECK(two.header_block.empty());
    auto same = sign_plain("From: a@example.com, b@EXAMPLE.com\r\n\r\n");
    CHECK(same.is_signed());
}

TEST_CASE("a domain without a key is not signed") {
    auto out = sign_plain("From: a@example.org\r\n\r\nbody\r\n");
    CHECK(out.reason == skip_reason::no_key);
    CHECK(out.from_domain == "example.org");
    CHECK(out.header_block.empty());
    // A domain that merely ends in a configured one is not a subdomain of it.
    CHECK(sign_plain("From: a@badexample.com\r\n\r\n").reason == skip_reason::no_key);
}

TEST_CASE("one DKIM signature per configured key, then an ARC set, and all of it verifies") {
    auto out = sign_plain(plain);
    REQUIRE(out.is_signed());
    CHECK(out.signatures == 2);
    CHECK(out.sealed);
    CHECK(out.arc_instance == 1);
    CHECK(out.signing_domain == "example.com");
    CHECK(out.incoming_chain == chain_status::none);

    auto signed_msg = out.header_block + plain;
    auto m = message::view_message(signed_msg);
    REQUIRE(m.fields.size() >= 5);
    CHECK(message::name_is(m.fields[0], "arc-seal"));
    CHECK(message::name_is(m.fields[1], "arc-message-signature"));
    CHECK(message::name_is(m.fields[2], "arc-authentication-results"));
    CHECK(message::name_is(m.fields[3], "dkim-signature"));
    CHECK(message::name_is(m.fields[4], "dkim-signature"));
    CHECK(tag_value(m.fields[0].value, "cv") == "none");
    CHECK(m.fields[2].value.find("mta.relay.example") != std::string_view::npos);
    CHECK(m.fields[2].value.find("policy.network=\"127.0.0.0/8\"") != std::string_view::npos);

    auto lookup = test::lookup_of(all_records());
    auto results = verify(m, lookup, at_now());
    REQUIRE(results.size() == 2);
    for (const auto& r : results) {
        INFO(r.algorithm, ": ", r.reason);
        CHECK(r.status == result::pass);
    }
    auto arc = validate_arc(m, lookup, at_now());
    INFO(arc.reason);
    CHECK(arc.status == chain_status::pass);
    CHECK(arc.instance == 1);
}

TEST_CASE("the prefix is signed as part of the message without being concatenated") {
    std::string prefix = "Received: from client by relay; " + util::rfc5322_date(now) + "\r\n";
    auto out = signer(settings_with_arc()).sign(prefix, plain, context());
    REQUIRE(out.is_signed());
    auto signed_msg = out.header_block + prefix + plain;
    auto lookup = test::lookup_of(all_records());
    auto results = verify(message::view_message(signed_msg), lookup, at_now());
    REQUIRE(results.size() == 2);
    for (const auto& r : results)
        CHECK(r.status == result::pass);
    CHECK(
        validate_arc(message::view_message(signed_msg), lookup, at_now()).status ==
        chain_status::pass
    );
}

TEST_CASE("the AAR records the SMTP AUTH user when there is one") {
    auto ctx = context();
    ctx.auth_user = "joe user";
    auto out = signer(settings_with_arc()).sign({}, plain, ctx);
    REQUIRE(out.sealed);
    CHECK(out.header_block.find("smtp.auth=\"joe user\"") != std::string::npos);
    CHECK(out.header_block.find("dkim=none") != std::string::npos);
}

TEST_CASE("a subdomain without its own key signs with the nearest parent's key") {
    signer_settings s;
    s.keys.push_back({"example.com", "top", test::ed_key(), true});
    s.keys.push_back({"a.example.com", "mid", test::ed_key2(), true});
    signer sg(s);
    auto deep = sg.sign({}, "From: x@b.a.example.com\r\n\r\n", context());
    REQUIRE(deep.is_signed());
    CHECK(deep.signing_domain == "a.example.com");
    CHECK(deep.from_domain == "b.a.example.com");
    CHECK(deep.header_block.find("s=mid;") != std::string::npos);
    auto other = sg.sign({}, "From: x@news.example.com\r\n\r\n", context());
    REQUIRE(other.is_signed());
    CHECK(other.signing_domain == "example.com");
    CHECK_FALSE(other.sealed);  // no [arc] configured

    auto records = test::lookup_of({{"top._domainkey.example.com", test::ed_key().dns_record()}});
    auto msg = other.header_block + "From: x@news.example.com\r\n\r\n";
    auto results = verify(message::view_message(msg), records, at_now());
    REQUIRE(results.size() == 1);
    CHECK(results[0].status == result::pass);

    s.keys[0].sign_subdomains = false;
    CHECK(
        signer(s).sign({}, "From: x@news.example.com\r\n\r\n", context()).reason ==
        skip_reason::no_key
    );
    CHECK(signer(s).keys_for("EXAMPLE.COM").size() == 1);
}

TEST_CASE("sealing over a valid chain gives cv=pass and i=2, and the chain validates") {
    auto first = sign_plain(plain);
    REQUIRE(first.sealed);
    auto once = first.header_block + plain;
    auto second = sign_plain(once, settings_with_arc("second.example"));
    // The second relay's key is RSA-2048.
    auto s2 = settings_with_arc("second.example");
    s2.arc->key = test::rsa_key2();
    second = signer(s2).sign({}, once, context());
    REQUIRE(second.sealed);
    CHECK(second.incoming_chain == chain_status::pass);
    CHECK(second.arc_instance == 2);
    auto twice = second.header_block + once;
    auto m = message::view_message(twice);
    CHECK(tag_value(m.fields[0].value, "cv") == "pass");
    CHECK(tag_value(m.fields[0].value, "i") == "2");
    CHECK(m.fields[2].value.find("arc=pass") != std::string_view::npos);
    auto lookup = test::lookup_of(all_records());
    auto arc = validate_arc(m, lookup, at_now());
    INFO(arc.reason);
    CHECK(arc.status == chain_status::pass);
    CHECK(arc.instance == 2);
    // The first relay's DKIM signatures still verify, and the second's too.
    auto results = verify(m, lookup, at_now());
    REQUIRE(results.size() == 4);
    for (const auto& r : results)
        CHECK(r.status == result::pass);
}

TEST_CASE("sealing over a broken chain gives cv=fail, and a failed chain is not extended") {
    auto first = sign_plain(plain);
    REQUIRE(first.sealed);
    auto tampered = first.header_block + plain;
    tampered.replace(tampered.rfind("body"), 4, "BODY");
    auto s2 = settings_with_arc("second.example");
    s2.arc->key = test::rsa_key2();
    auto second = signer(s2).sign({}, tampered, context());
    REQUIRE(second.sealed);
    CHECK(second.incoming_chain == chain_status::fail);
    auto failed = second.header_block + tampered;
    auto m = message::view_message(failed);
    CHECK(tag_value(m.fields[0].value, "cv") == "fail");
    CHECK(m.fields[2].value.find("arc=fail") != std::string_view::npos);
    // The DKIM results of the first relay's signatures are recorded as failures.
    CHECK(m.fields[2].value.find("dkim=fail") != std::string_view::npos);
    auto lookup = test::lookup_of(all_records());
    auto arc = validate_arc(m, lookup, at_now());
    CHECK(arc.status == chain_status::fail);
    CHECK_FALSE(arc.sealable);

    auto third = signer(settings_with_arc()).sign({}, failed, context());
    CHECK(third.is_signed());  // DKIM still signs
    CHECK_FALSE(third.sealed);
    CHECK(third.incoming_chain == chain_status::fail);
    CHECK(third.detail.find("not sealed") != std::string::npos);
}

TEST_CASE("an incoming chain whose keys cannot be looked up is left unsealed, never passed") {
    auto first = sign_plain(plain);
    auto once = first.header_block + plain;
    auto ctx = context();
    ctx.lookup = nullptr;  // every look-up is a temporary failure
    auto s2 = settings_with_arc("second.example");
    auto second = signer(s2).sign({}, once, ctx);
    CHECK(second.is_signed());
    CHECK_FALSE(second.sealed);
    CHECK(second.incoming_chain == chain_status::fail);
    CHECK(second.detail.find("not validated") != std::string::npos);
    // A missing key record (NXDOMAIN) is permanent: the chain fails and the seal says so.
    ctx.lookup = [](std::string_view name) {
        if (name == "arc._domainkey.relay.example")
            return key_answer{key_answer::status::missing, {}};
        return test::lookup_of(all_records())(name);
    };
    auto third = signer(s2).sign({}, once, ctx);
    REQUIRE(third.sealed);
    CHECK(third.incoming_chain == chain_status::fail);
    CHECK(tag_value(message::view_message(third.header_block).fields[0].value, "cv") == "fail");
}

TEST_CASE("a chain at i=50 is not extended (RFC 8617 §5.1)") {
    signer sg(settings_with_arc());
    std::string msg = plain;
    for (unsigned i = 1; i <= 50; ++i) {
        auto out = sg.sign({}, msg, context());
        REQUIRE(out.sealed);
        REQUIRE(out.arc_instance == i);
        if (i > 1)
            REQUIRE(out.incoming_chain == chain_status::pass);
        msg = out.header_block + msg;
    }
    auto lookup = test::lookup_of(all_records());
    auto arc = validate_arc(message::view_message(msg), lookup, at_now());
    CHECK(arc.status == chain_status::pass);
    CHECK(arc.instance == 50);
    CHECK_FALSE(arc.sealable);
    auto out = sg.sign({}, msg, context());
    CHECK(out.is_signed());
    CHECK_FALSE(out.sealed);
    CHECK(out.incoming_chain == chain_status::pass);
}

TEST_CASE("key_names lists the records a message's signatures and seals need, once each") {
    auto first = sign_plain(plain);
    auto names = signer(settings_with_arc()).key_names(first.header_block, plain);
    CHECK(
        names ==
        std::vector<std::string>{
            "arc._domainkey.relay.example", "rsa._domainkey.example.com",
            "ed._domainkey.example.com"}
    );
}

TEST_CASE("an AMS whose h= names arc-seal fails the chain (RFC 8617 §4.1.2)") {
    auto out = sign_plain(plain);
    REQUIRE(out.sealed);
    auto block = out.header_block;
    auto ams = block.find("ARC-Message-Signature:");
    REQUIRE(ams != std::string::npos);
    auto h = block.find(" h=", ams);
    REQUIRE(h != std::string::npos);
    block.insert(h + 3, "arc-seal:");
    auto signed_msg = block + plain;
    auto arc =
        validate_arc(message::view_message(signed_msg), test::lookup_of(all_records()), at_now());
    CHECK(arc.status == chain_status::fail);
    CHECK(arc.reason.find("arc-seal") != std::string::npos);
}
