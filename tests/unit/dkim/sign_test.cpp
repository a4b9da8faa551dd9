// Unit tests for DKIM signing: header selection and over-signing, field layout, and verification
// of our own signatures by core/dkim/verify (round trip).
#include "core/dkim/sign.hpp"

#include <algorithm>
#include <cctype>
#include <random>

#include <doctest/doctest.h>

#include "core/dkim/detail/signature.hpp"
#include "core/dkim/detail/tag_list.hpp"
#include "core/dkim/verify.hpp"
#include "core/util/text.hpp"
#include "tests/unit/dkim/test_support.hpp"

using namespace outpost;
using namespace outpost::dkim;

namespace {

constexpr std::int64_t now = 1800000000;

const std::string sample =
    "From: Joe <joe@example.com>\r\n"
    "To: a@one.example\r\n"
    "To: b@two.example\r\n"
    "Subject: a long subject that is folded\r\n"
    "\tonto a second line\r\n"
    "X-Mailer: test\r\n"
    "\r\n"
    "Hello,  world \r\n"
    "\r\n"
    "\r\n";

std::vector<std::string> h_of(const std::string& field) {
    auto parsed = message::parse_header(field);
    REQUIRE(parsed.fields.size() == 1);
    auto tags = parse_tag_list(parsed.fields[0].value);
    REQUIRE(tags);
    std::vector<std::string> out;
    for (const auto& n : split_colon_list(find_tag(*tags, "h")->value))
        out.emplace_back(n);
    return out;
}

std::optional<std::string> tag_of(const std::string& field, std::string_view name) {
    auto parsed = message::parse_header(field);
    REQUIRE(parsed.fields.size() >= 1);
    auto tags = parse_tag_list(parsed.fields[0].value);
    REQUIRE(tags);
    const auto* t = find_tag(*tags, name);
    return t ? std::optional(strip_fws(t->value)) : std::nullopt;
}

std::vector<signature_result> check(const std::string& msg, const test::records& keys) {
    verify_options o;
    o.now = now;
    return verify(message::view_message(msg), test::lookup_of(keys), o);
}

// The result for a message that carries exactly one signature.
signature_result check_one(const std::string& msg, const test::records& keys) {
    auto results = check(msg, keys);
    REQUIRE(results.size() == 1);
    return results[0];
}

}  // namespace

TEST_CASE("h= lists each present field once per instance and over-signed ones once more") {
    auto fields = message::parse_header(sample).fields;
    sign_options o;
    auto h = signed_header_list(fields, o);
    CHECK(
        h ==
        std::vector<std::string>{
            "from", "from", "to", "to", "to", "cc", "subject", "subject", "date", "reply-to"}
    );
}

TEST_CASE("h= always holds from, and configured names are counted once") {
    auto fields = message::parse_header(sample).fields;
    sign_options o;
    o.headers = {"subject", "x-mailer", "subject"};
    o.oversign = {};
    CHECK(signed_header_list(fields, o) == std::vector<std::string>{"from", "subject", "x-mailer"});
}

TEST_CASE("fields are selected from the bottom up, one instance per h= entry (RFC 6376 §5.4.2)") {
    auto fields = message::parse_header(sample).fields;
    std::vector<std::string> names = {"to", "to", "to", "from"};
    auto selected = detail::select_fields(fields, names);
    REQUIRE(selected.size() == 3);
    CHECK(selected[0]->value == " b@two.example");
    CHECK(selected[1]->value == " a@one.example");
    CHECK(message::name_is(*selected[2], "from"));
}

TEST_CASE("a signature has t=, no l=, and folded lines of at most 78 characters") {
    auto m = message::view_message(sample);
    signing_key k{"example.com", "sel", test::rsa_key2()};
    sign_options o;
    o.time = now;
    auto field = sign(m, std::span(&k, 1), o);
    REQUIRE(field.starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;"));
    REQUIRE(field.ends_with("\r\n"));
    CHECK(tag_of(field, "t") == std::to_string(now));
    CHECK_FALSE(tag_of(field, "l"));
    CHECK_FALSE(tag_of(field, "x"));
    CHECK(tag_of(field, "d") == "example.com");
    CHECK(tag_of(field, "s") == "sel");
    // Worked out by hand from the sample and the default lists (not from signed_header_list,
    // which shares its selection code with sign).
    CHECK(
        h_of(field) ==
        std::vector<std::string>{
            "from", "from", "to", "to", "to", "cc", "subject", "subject", "date", "reply-to"}
    );
    for (auto line : util::split(std::string_view(field).substr(0, field.size() - 2), '\n')) {
        INFO(line);
        CHECK(line.size() <= 79);  // 78 characters and the CR
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        CHECK(line.find('\r') == std::string_view::npos);
    }
    o.expiration = 3600;
    CHECK(tag_of(sign(m, std::span(&k, 1), o), "x") == std::to_string(now + 3600));
}

TEST_CASE("RSA and Ed25519 signatures verify for every canonicalization") {
    const std::vector<signing_key> keys = {
        {"example.com", "rsa", test::rsa_key()}, {"example.com", "ed", test::ed_key()}};
    test::records records = {
        {"rsa._domainkey.example.com", test::rsa_key().dns_record()},
        {"ed._domainkey.example.com", test::ed_key().dns_record()}};
    for (auto hc : {canonicalization::simple, canonicalization::relaxed}) {
        for (auto bc : {canonicalization::simple, canonicalization::relaxed}) {
            sign_options o;
            o.time = now;
            o.header_canon = hc;
            o.body_canon = bc;
            auto block = sign(message::view_message(sample), keys, o);
            auto signed_msg = block + sample;
            auto results = check(signed_msg, records);
            REQUIRE(results.size() == 2);
            for (const auto& r : results) {
                INFO(to_string(hc), "/", to_string(bc), " ", r.algorithm, ": ", r.reason);
                CHECK(r.status == result::pass);
            }
        }
    }
}

TEST_CASE("tricky bodies sign and verify: empty, no final CRLF, trailing blank lines, 8-bit") {
    const std::vector<std::string> bodies = {
        "",
        "no final line end",
        "trailing\r\n\r\n\r\n\r\n",
        "wsp \t \r\n\t\r\n",
        "caf\xc3\xa9 \xe2\x98\x95\r\n",
        std::string(5000, 'x') + "\r\n"};
    signing_key k{"example.com", "ed", test::ed_key()};
    test::records records = {{"ed._domainkey.example.com", test::ed_key().dns_record()}};
    for (const auto& body : bodies) {
        for (auto bc : {canonicalization::simple, canonicalization::relaxed}) {
            auto msg = "From: j\xc3\xb6rg@example.com\r\nSubject: \xc3\xa9t\xc3\xa9\r\n\r\n" + body;
            sign_options o;
            o.time = now;
            o.body_canon = bc;
            auto results =
                check(sign(message::view_message(msg), std::span(&k, 1), o) + msg, records);
            REQUIRE(results.size() == 1);
            INFO("body: ", body.substr(0, 40), " ", to_string(bc), ": ", results[0].reason);
            CHECK(results[0].status == result::pass);
        }
    }
}

TEST_CASE("adding an over-signed field breaks the signature; adding another field does not") {
    signing_key k{"example.com", "ed", test::ed_key()};
    test::records records = {{"ed._domainkey.example.com", test::ed_key().dns_record()}};
    sign_options o;
    o.time = now;
    auto signed_msg = sign(message::view_message(sample), std::span(&k, 1), o) + sample;
    REQUIRE(check_one(signed_msg, records).status == result::pass);

    auto extra_to = signed_msg;
    extra_to.insert(extra_to.find("X-Mailer:"), "To: evil@attacker.example\r\n");
    CHECK(check_one(extra_to, records).status == result::fail);
    auto extra_cc = signed_msg;
    extra_cc.insert(extra_cc.find("X-Mailer:"), "Cc: evil@attacker.example\r\n");
    CHECK(check_one(extra_cc, records).status == result::fail);
    auto extra_other = signed_msg;
    extra_other.insert(extra_other.find("X-Mailer:"), "X-Added: later\r\n");
    CHECK(check_one(extra_other, records).status == result::pass);
    // Refolding is harmless under relaxed header canonicalization.
    auto refolded = signed_msg;
    refolded.replace(refolded.find("\tonto"), 1, "   ");
    CHECK(check_one(refolded, records).status == result::pass);
}

TEST_CASE("verification reports expired signatures, wrong key types and revoked keys") {
    signing_key k{"example.com", "ed", test::ed_key()};
    sign_options o;
    o.time = now;
    o.expiration = 60;
    auto signed_msg = sign(message::view_message(sample), std::span(&k, 1), o) + sample;
    test::records good = {{"ed._domainkey.example.com", test::ed_key().dns_record()}};
    verify_options vo;
    vo.now = now + 61;
    auto late = verify(message::view_message(signed_msg), test::lookup_of(good), vo);
    REQUIRE(late.size() == 1);
    CHECK(late[0].status == result::permerror);
    CHECK(late[0].reason == "signature expired");

    test::records wrong = {{"ed._domainkey.example.com", test::rsa_key().dns_record()}};
    CHECK(check_one(signed_msg, wrong).status == result::permerror);
    test::records other_key = {{"ed._domainkey.example.com", test::ed_key2().dns_record()}};
    CHECK(check_one(signed_msg, other_key).status == result::fail);
    test::records revoked = {{"ed._domainkey.example.com", "v=DKIM1; k=ed25519; p="}};
    CHECK(check_one(signed_msg, revoked).status == result::permerror);
}

TEST_CASE("tag lists: duplicates are invalid and b= is emptied without touching bh=") {
    CHECK_FALSE(parse_tag_list("a=1; a=2"));
    CHECK_FALSE(parse_tag_list("a=1; =2"));
    // An empty tag-spec is malformed, except a trailing semicolon (RFC 6376 §3.2).
    CHECK_FALSE(parse_tag_list("s=dummy;; t=12345"));
    CHECK_FALSE(parse_tag_list("; a=1"));
    CHECK_FALSE(parse_tag_list("a=1; ;b=2"));
    CHECK(parse_tag_list("a=1; b=2;"));
    CHECK(parse_tag_list("a=1; b=2; \r\n "));
    auto tags = parse_tag_list(" v=1; bh=abc;\r\n b=xy\r\n z ; d=x ");
    REQUIRE(tags);
    CHECK(find_tag(*tags, "b")->value == "xy\r\n z");
    CHECK(find_tag(*tags, "d")->value == "x");
    CHECK(
        without_b_value(" v=1; bh=abc;\r\n b=xy\r\n z ; d=x ", *tags) ==
        " v=1; bh=abc;\r\n b=; d=x "
    );
}

namespace {

// RFC 6376 §5.4 written out plainly, apart from the code under test, for the random cases below:
// the names in h= order ("from" first unless configured, the configured names, then the
// over-signed ones not configured; each name once, whatever its case), each repeated once per
// field of that name present and once more when over-signed; and per §5.4.2 the fields they
// select, instances of a name taken from the bottom of the header up.
struct reference_selection {
    std::vector<std::string> h;
    std::vector<const message::header_field*> fields;
};

bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

reference_selection reference_select(
    const std::vector<message::header_field>& fields, const sign_options& o
) {
    std::vector<std::string> names;
    auto listed = [](const std::vector<std::string>& list, std::string_view name) {
        for (const auto& n : list)
            if (same_name(n, name))
                return true;
        return false;
    };
    auto add = [&](std::string_view name) {
        if (listed(names, name))
            return;
        std::string lower;
        for (char c : name)
            lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        names.push_back(lower);
    };
    if (!listed(o.headers, "from"))
        add("from");
    for (const auto& n : o.headers)
        add(n);
    for (const auto& n : o.oversign)
        add(n);
    reference_selection out;
    for (const auto& name : names) {
        // Bottom up: the first h= entry of a name signs its last field, and so on.
        for (auto it = fields.rbegin(); it != fields.rend(); ++it)
            if (same_name(it->name, name)) {
                out.h.push_back(name);
                out.fields.push_back(&*it);
            }
        if (listed(o.oversign, name))
            out.h.push_back(name);
    }
    return out;
}

}  // namespace

TEST_CASE("the reference selection gives the hand-worked h= of the sample") {
    auto fields = message::parse_header(sample).fields;
    sign_options o;
    auto ref = reference_select(fields, o);
    CHECK(
        ref.h ==
        std::vector<std::string>{
            "from", "from", "to", "to", "to", "cc", "subject", "subject", "date", "reply-to"}
    );
    REQUIRE(ref.fields.size() == 4);
    CHECK(ref.fields[1]->value == " b@two.example");
    CHECK(ref.fields[2]->value == " a@one.example");
}

TEST_CASE("h= and the fields it signs agree with RFC 6376 §5.4 on random headers and options") {
    std::mt19937 rng(20261127);
    const std::vector<std::string> names = {"From", "to",  "CC",         "Subject",  "date",
                                            "X-A",  "x-b", "Message-ID", "Reply-To", "List-Id"};
    std::uniform_int_distribution<std::size_t> pick(0, names.size() - 1);
    std::uniform_int_distribution<int> count(0, 12);
    for (int round = 0; round < 2000; ++round) {
        std::string text;
        int fields = count(rng);
        for (int i = 0; i < fields; ++i)
            text += names[pick(rng)] + ": " + std::to_string(i) + "\r\n";
        text += "\r\n";
        auto parsed = message::parse_header(text).fields;
        sign_options o;
        o.headers.clear();
        o.oversign.clear();
        // Configured names in any case: the options are lower case by contract, but mixed case
        // must not change the outcome.
        for (int i = count(rng); i > 0; --i)
            o.headers.push_back(rng() % 4 ? util::to_lower(names[pick(rng)]) : names[pick(rng)]);
        for (int i = count(rng) / 3; i > 0; --i)
            o.oversign.push_back(rng() % 4 ? util::to_lower(names[pick(rng)]) : names[pick(rng)]);
        INFO("header: ", text);
        std::string configured;
        for (const auto& n : o.headers)
            configured += n + ",";
        configured += " oversign: ";
        for (const auto& n : o.oversign)
            configured += n + ",";
        INFO("headers: ", configured);
        auto expected = reference_select(parsed, o);
        auto prepared = detail::prepare(o);  // selection.h views its names
        auto selection = detail::select_headers(parsed, prepared);
        std::string got, want;
        for (auto n : selection.h)
            got += std::string(n) + ":";
        for (const auto& n : expected.h)
            want += n + ":";
        INFO("h= ", got, " want ", want);
        REQUIRE(std::vector<std::string>(selection.h.begin(), selection.h.end()) == expected.h);
        REQUIRE(
            std::vector<const message::header_field*>(
                selection.fields.begin(), selection.fields.end()
            ) == expected.fields
        );
        REQUIRE(signed_header_list(parsed, o) == expected.h);
        REQUIRE(detail::select_fields(parsed, expected.h) == expected.fields);
    }
}
