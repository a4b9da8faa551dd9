// Other senders' suppression exports (SES, Postmark, SendGrid) read into our entries.
#include "core/suppression/foreign_csv.hpp"

#include <doctest/doctest.h>

using namespace outpost::suppression;

namespace {

csv_import read(std::string_view text) {
    return read_csv_entries(text, {std::nullopt, 1000});
}

}  // namespace

TEST_CASE("an SES export: BOUNCE is a hard bounce, COMPLAINT a complaint, with their times") {
    auto r = read(
        "EmailAddress,Reason,LastUpdateTime\r\n"
        "Gone@Example.COM,BOUNCE,2026-11-20T08:15:00.123Z\r\n"
        "angry@example.org,COMPLAINT,2026-11-21T10:00:00+02:00\r\n"
    );
    REQUIRE(r.problems.empty());
    CHECK(r.format == "Amazon SES");
    REQUIRE(r.entries.size() == 2);
    CHECK(r.entries[0].address == "Gone@example.com");
    CHECK(r.entries[0].reason == "bounce");
    CHECK(r.entries[0].severity == kind::hard);
    CHECK(r.entries[0].origin == source::import);
    CHECK(r.entries[0].last_seen == *parse_time("2026-11-20T08:15:00Z"));
    CHECK(r.entries[1].reason == "feedback");
    CHECK(r.entries[1].origin == source::complaint);
    CHECK(r.entries[1].first_seen == *parse_time("2026-11-21T08:00:00Z"));
}

TEST_CASE("SES's headerless bulk-import file") {
    auto r = read("one@example.com,BOUNCE\ntwo@example.com,complaint\n");
    REQUIRE(r.problems.empty());
    CHECK(r.format == "Amazon SES");
    REQUIRE(r.entries.size() == 2);
    CHECK(r.entries[0].address == "one@example.com");
    CHECK(r.entries[0].first_seen == 1000);  // no time: now
    CHECK(r.entries[1].reason == "feedback");
}

TEST_CASE("a Postmark dump: reasons, a soft bounce, Origin kept out") {
    auto r = read(
        "EmailAddress,SuppressionReason,Origin,CreatedAt\n"
        "a@example.com,HardBounce,Recipient,2019-12-10T08:58:33-05:00\n"
        "b@example.com,SpamComplaint,Recipient,2019-12-10T08:58:33-05:00\n"
        "c@example.com,ManualSuppression,Customer,2019-12-10T08:58:33-05:00\n"
    );
    REQUIRE(r.problems.empty());
    CHECK(r.format == "Postmark");
    REQUIRE(r.entries.size() == 3);
    CHECK(r.entries[0].reason == "bounce");
    CHECK(r.entries[0].first_seen == *parse_time("2019-12-10T13:58:33Z"));
    CHECK(r.entries[1].reason == "feedback");
    CHECK(r.entries[2].reason == "manual");
    CHECK(r.entries[2].origin == source::import);
}

TEST_CASE("SendGrid bounces: the reply text gives the status, a 4.x.x status is soft") {
    auto r = read(
        "email,created,reason,status\n"
        "x@example.com,1700000000,\"550 5.1.1 The email account that you tried to reach does not "
        "exist\",5.1.1\n"
        "y@example.com,2023-11-14 22:13:20,\"452 4.2.2 The email account is over quota\",\n"
        "z@example.com,1700000000,\"550 Requested action not taken: mailbox unavailable\",\n"
    );
    REQUIRE(r.problems.empty());
    CHECK(r.format == "SendGrid");
    REQUIRE(r.entries.size() == 3);
    CHECK(r.entries[0].reason == "bounce");
    CHECK(r.entries[0].status == "5.1.1");
    CHECK(r.entries[0].severity == kind::hard);
    CHECK(r.entries[0].last_seen == 1700000000);
    CHECK(r.entries[1].status == "4.2.2");
    CHECK(r.entries[1].severity == kind::soft);
    CHECK(r.entries[1].last_seen == 1700000000);
    CHECK(r.entries[2].reason == "bounce");
    CHECK(r.entries[2].status.empty());
    CHECK(r.entries[2].severity == kind::hard);
}

TEST_CASE("SendGrid spam reports are complaints; unsubscribes keep the import reason") {
    auto spam = read("email,created,ip\nspam@example.com,1700000000,192.0.2.1\n");
    REQUIRE(spam.problems.empty());
    REQUIRE(spam.entries.size() == 1);
    CHECK(spam.entries[0].reason == "feedback");
    CHECK(spam.entries[0].origin == source::complaint);
    auto unsub = read("email,created\nbye@example.com,1700000000\n");
    REQUIRE(unsub.entries.size() == 1);
    CHECK(unsub.format == "SendGrid");
    CHECK(unsub.entries[0].reason == "import");
}

TEST_CASE("bad rows of a foreign export are problems with their lines; nothing is guessed") {
    auto r = read(
        "email,created,reason,status\n"
        "not-an-address,1700000000,x,\n"
        "ok@example.com,yesterday,x,\n"
        "short@example.com,1\n"
    );
    REQUIRE(r.problems.size() == 3);
    CHECK(r.problems[0].line == 2);
    CHECK(r.problems[0].message == "invalid address \"not-an-address\"");
    CHECK(r.problems[1].line == 3);
    CHECK(r.problems[1].message.find("bad time \"yesterday\"") == 0);
    CHECK(r.problems[2].line == 4);
    // Unknown columns are still refused: neither ours nor one of the three.
    auto unknown = read("email,created,favourite_colour\na@example.com,1,blue\n");
    REQUIRE_FALSE(unknown.problems.empty());
    CHECK(unknown.problems[0].message.find("unknown column \"email\"") == 0);
    // A Postmark-looking header without an address column (and two address columns): nothing.
    auto no_address = read("SuppressionReason,CreatedAt\nHardBounce,2024-01-01\n");
    CHECK(no_address.entries.empty());
    REQUIRE(no_address.problems.size() == 1);
    CHECK(no_address.problems[0].line == 1);
    CHECK(
        no_address.problems[0].message.find("without exactly one address column") !=
        std::string::npos
    );
    auto two = read("Email,Recipient,SuppressionReason\na@example.com,b@example.com,HardBounce\n");
    CHECK(two.entries.empty());
    CHECK_FALSE(two.problems.empty());
}

TEST_CASE("parse_foreign_time reads the forms these exports use and nothing else") {
    CHECK(parse_foreign_time("1700000000") == 1700000000);
    CHECK(parse_foreign_time("2023-11-14") == 1699920000);
    CHECK(parse_foreign_time("2023-11-14T22:13:20Z") == 1700000000);
    CHECK(parse_foreign_time("2023-11-14 22:13:20") == 1700000000);
    CHECK(parse_foreign_time("2023-11-14T22:13:20.5Z") == 1700000000);
    CHECK(parse_foreign_time("2023-11-15T00:13:20+02:00") == 1700000000);
    CHECK(parse_foreign_time("2023-11-14T17:13:20-0500") == 1700000000);
    CHECK_FALSE(parse_foreign_time("2023-02-30"));
    CHECK_FALSE(parse_foreign_time("2023-11-14T25:00:00Z"));
    CHECK_FALSE(parse_foreign_time("2023-11-14T22:13:20 CET"));
    CHECK_FALSE(parse_foreign_time("14/11/2023"));
    CHECK_FALSE(parse_foreign_time(""));
    // Only times our own export can write back: 1970 to year 9999.
    CHECK(parse_foreign_time("253402300799") == 253402300799);
    CHECK_FALSE(parse_foreign_time("253402300800"));
    CHECK_FALSE(parse_foreign_time("999999999999"));
    CHECK_FALSE(parse_foreign_time("1970-01-01T00:00:00+01:00"));
    CHECK_FALSE(parse_foreign_time("9999-12-31T23:59:59-00:01"));
}

TEST_CASE("rows without a time are marked undated, rows with one are not") {
    auto r = read("email,created\na@example.com,\nb@example.com,1700000000\n");
    REQUIRE(r.entries.size() == 2);
    CHECK(r.entries[0].undated);
    CHECK_FALSE(r.entries[1].undated);
    auto plain = read("a@example.com\n");
    REQUIRE(plain.entries.size() == 1);
    CHECK(plain.entries[0].undated);
    auto ours = read("address,last_seen\na@example.com,\nb@example.com,2026-11-20T08:15:00Z\n");
    REQUIRE(ours.entries.size() == 2);
    CHECK(ours.entries[0].undated);
    CHECK_FALSE(ours.entries[1].undated);
}

TEST_CASE("a 4xx reply text without an enhanced code is a soft bounce") {
    auto r = read("email,created,reason,status\nq@example.com,1700000000,\"452 mailbox full\",\n");
    REQUIRE(r.entries.size() == 1);
    CHECK(r.entries[0].reason == "bounce");
    CHECK(r.entries[0].status.empty());
    CHECK(r.entries[0].severity == kind::soft);
}
