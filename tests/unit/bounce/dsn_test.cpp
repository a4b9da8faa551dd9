// RFC 3464 parsing and classification of whole bounce messages.
#include "core/bounce/dsn.hpp"

#include <doctest/doctest.h>

#include "core/bounce/classifier.hpp"
#include "core/bounce/detail/rules.hpp"
#include "core/bounce/detail/text_report.hpp"

using namespace outpost::bounce;

namespace {

const char* two_recipient_dsn =
    "From: MAILER-DAEMON@mx.example.org\n"
    "To: sender@example.com\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n"
    "\n"
    "--B\n"
    "Content-Type: text/plain\n"
    "\n"
    "I'm sorry to have to inform you that your message could not be delivered.\n"
    "--B\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.org\n"
    "Arrival-Date: Thu, 29 Apr 2010 23:34:45 +0900\n"
    "\n"
    "Final-Recipient: rfc822; <Alice@Example.NET>\n"
    "Original-Recipient: rfc822; alice@example.net\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mx.example.net\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>: Recipient address\n"
    "    rejected: User unknown in local recipient table\n"
    "\n"
    "Final-Recipient: rfc822; bob@example.net\n"
    "Action: delayed\n"
    "Status: 4.2.2\n"
    "Diagnostic-Code: smtp; 452 4.2.2 Mailbox full\n"
    "--B\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "From: sender@example.com\n"
    "To: alice@example.net, bob@example.net\n"
    "--B--\n";

}  // namespace

TEST_CASE("parse_dsn reads per-message and per-recipient fields") {
    auto report = parse_dsn(two_recipient_dsn);
    REQUIRE(report);
    CHECK(report->reporting_mta == "mx.example.org");
    REQUIRE(report->recipients.size() == 2);
    const auto& a = report->recipients[0];
    CHECK(a.final_recipient == "Alice@Example.NET");
    CHECK(a.original_recipient == "alice@example.net");
    CHECK(a.action == "failed");
    CHECK(a.status == "5.1.1");
    CHECK(a.remote_mta == "mx.example.net");
    CHECK(a.diagnostic_type == "smtp");
    CHECK(
        a.diagnostic_code ==
        "550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown in local "
        "recipient table"
    );
    CHECK(report->recipients[1].action == "delayed");
    CHECK(report->human_text.find("could not be delivered") != std::string::npos);
}

TEST_CASE("parse_dsn is nullopt for a message without a delivery-status part") {
    CHECK_FALSE(parse_dsn("Subject: hello\n\nNot a bounce.\n"));
}

TEST_CASE("parse_dsn reads a base64-encoded status part") {
    // "Final-Recipient: rfc822; c@example.net\nAction: failed\nStatus: 5.2.2\n"
    const char* raw =
        "Content-Type: multipart/report; report-type=delivery-status; boundary=Q\n\n"
        "--Q\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        "RmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGNAZXhhbXBsZS5uZXQKQWN0aW9uOiBmYWlsZWQKU3Rh\n"
        "dHVzOiA1LjIuMgo=\n--Q--\n";
    auto report = parse_dsn(raw);
    REQUIRE(report);
    REQUIRE(report->recipients.size() == 1);
    CHECK(report->recipients[0].final_recipient == "c@example.net");
    CHECK(report->recipients[0].status == "5.2.2");
}

TEST_CASE("classify_message gives each DSN recipient its own reason and severity") {
    auto result = classify_message(two_recipient_dsn);
    REQUIRE(result.size() == 2);
    CHECK(result[0].recipient == "Alice@Example.NET");
    CHECK(result[0].why == reason::userunknown);
    CHECK(result[0].hardness == severity::hard);
    CHECK(result[1].recipient == "bob@example.net");
    CHECK(result[1].why == reason::mailboxfull);
    CHECK(result[1].status == "4.2.2");
    CHECK(result[1].hardness == severity::soft);
}

TEST_CASE("a qmail bounce names its recipient on a line of its own") {
    const char* raw =
        "From: MAILER-DAEMON@mx.example.jp\n"
        "To: sender@example.com\n"
        "Subject: failure notice\n"
        "\n"
        "Hi. This is the qmail-send program at mx.example.jp.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "\n"
        "<gone@example.org>:\n"
        "192.0.2.1 does not like recipient.\n"
        "Remote host said: 550 5.1.1 <gone@example.org>... User Unknown\n"
        "\n"
        "--- Below this line is a copy of the message.\n"
        "\n"
        "Return-Path: <sender@example.com>\n"
        "To: gone@example.org\n";
    auto result = classify_message(raw);
    REQUIRE(result.size() == 1);
    CHECK(result[0].recipient == "gone@example.org");
    CHECK(result[0].status == "5.1.1");
    CHECK(result[0].why == reason::userunknown);
    CHECK(result[0].hardness == severity::hard);
}

TEST_CASE("an Exim bounce lists several recipients, each with its own reason") {
    const char* raw =
        "From: Mail Delivery System <Mailer-Daemon@mx.example.com>\n"
        "To: sender@example.com\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "\n"
        "This message was created automatically by mail delivery software.\n"
        "\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n"
        "\n"
        "  full@example.net\n"
        "    SMTP error from remote mail server after RCPT TO:<full@example.net>:\n"
        "    552 Mailbox quota exceeded\n"
        "  nohost@nowhere.example\n"
        "    Unrouteable address\n"
        "\n"
        "------ This is a copy of the message, including all the headers. ------\n"
        "Return-path: <sender@example.com>\n";
    auto result = classify_message(raw);
    REQUIRE(result.size() == 2);
    CHECK(result[0].recipient == "full@example.net");
    CHECK(result[0].why == reason::mailboxfull);
    CHECK(result[0].status_derived);
    CHECK(result[0].status == "5.0.922");
    CHECK(result[1].recipient == "nohost@nowhere.example");
    CHECK(result[1].why == reason::hostunknown);
    CHECK(result[1].hardness == severity::hard);
}

TEST_CASE("an ARF report is feedback about the original recipient") {
    const char* raw =
        "From: fbl@isp.example\n"
        "To: abuse@example.com\n"
        "Subject: complaint\n"
        "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n"
        "\n"
        "--F\nContent-Type: text/plain\n\nThis is an abuse report.\n"
        "--F\nContent-Type: message/feedback-report\n\n"
        "Feedback-Type: abuse\nUser-Agent: x/1.0\nVersion: 1\n"
        "Original-Rcpt-To: <complainer@isp.example>\n"
        "--F\nContent-Type: message/rfc822\n\nFrom: news@example.com\nTo: other@isp.example\n\nhi\n"
        "--F--\n";
    auto result = classify_message(raw);
    REQUIRE(result.size() == 1);
    CHECK(result[0].recipient == "complainer@isp.example");
    CHECK(result[0].why == reason::feedback);
    CHECK(
        suppression_for(result[0].why, result[0].status) == suppression_decision::suppress_complaint
    );
}

TEST_CASE("an ARF report without Original-Rcpt-To names the To: of the enclosed message") {
    const char* raw =
        "Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\n\n"
        "--F\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
        "--F\nContent-Type: message/rfc822\n\nTo: <reader@isp.example>\n\nhi\n--F--\n";
    auto result = classify_message(raw);
    REQUIRE(result.size() == 1);
    CHECK(result[0].recipient == "reader@isp.example");
}

TEST_CASE("an auto-reply is vacation and is ignored by suppression") {
    const char* raw =
        "From: Person <person@example.net>\n"
        "To: sender@example.com\n"
        "Auto-Submitted: auto-replied\n"
        "Subject: Out of office\n"
        "\n"
        "I am away until Monday.\n";
    auto result = classify_message(raw);
    REQUIRE(result.size() == 1);
    CHECK(result[0].recipient == "person@example.net");
    CHECK(result[0].why == reason::vacation);
    CHECK(suppression_for(result[0].why, result[0].status) == suppression_decision::ignore);
}

TEST_CASE("a bounce from a mail system marked auto-replied is still a bounce") {
    const char* raw =
        "From: Mail Delivery Subsystem <mailer-daemon@example.org>\n"
        "Auto-Submitted: auto-replied\n"
        "X-Failed-Recipients: who@example.net\n"
        "Subject: Delivery Status Notification (Failure)\n"
        "\n"
        "Delivery to the following recipient failed permanently:\n"
        "     who@example.net\n"
        "Technical details of permanent failure:\n"
        "The email account that you tried to reach does not exist.\n";
    auto result = classify_message(raw);
    REQUIRE(result.size() == 1);
    CHECK(result[0].recipient == "who@example.net");
    CHECK(result[0].why == reason::userunknown);
}

TEST_CASE("the embedded rules table parses without errors") {
    const auto& r = detail::rules();
    for (const auto& e : r.errors())
        FAIL_CHECK(e);
    CHECK(r.size() > 100);
}

TEST_CASE("a malformed rules row is reported and skipped") {
    detail::rule_set r{
        "text\tnosuchreason\tx\nregex\tblocked\t(unclosed\ntext\tmailboxfull\tover quota\n"};
    CHECK(r.errors().size() == 2);
    auto m = r.match("user is over quota");
    REQUIRE(m);
    CHECK(m->why == reason::mailboxfull);
}

TEST_CASE("mtastatus rows apply to their MTA's reports only, and must name it") {
    detail::rule_set r{
        "mtastatus\tspamdetected\t^5\\.7\\.50[1-3]$\toffice365\n"
        "mtastatus\tblocked\t^5\\.7\\.606$\n"};
    CHECK(r.errors().size() == 1);
    CHECK(r.mta_status("office365", "5.7.502") == reason::spamdetected);
    CHECK_FALSE(r.mta_status("office365", "5.7.5021"));
    CHECK_FALSE(r.mta_status("exim", "5.7.502"));
    CHECK_FALSE(r.mta_status("office365", "5.7.606"));
    // Leave-one-MTA-out drops them with the MTA's other rows.
    detail::rule_set without{
        detail::rules_without("mtastatus\tspamdetected\t^5\\.7\\.501$\toffice365\n", "office365")};
    CHECK_FALSE(without.mta_status("office365", "5.7.501"));
}

TEST_CASE("find_status skips IP addresses and version numbers") {
    CHECK(detail::find_status("host 192.0.2.1 said 550 5.7.1 denied") == "5.7.1");
    CHECK(detail::find_status("Exim 4.86.2 here") == "");
    CHECK(detail::find_status("250 2.0.0 ok") == "");
    CHECK(detail::find_status("250 2.0.0 ok", true) == "2.0.0");
}
