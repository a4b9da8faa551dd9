// Bounce formats of particular MTAs and providers, written here from their documented shapes:
// each test covers one reading path or one kind of rules.tsv row.
#include <string>

#include <doctest/doctest.h>

#include "core/bounce/classifier.hpp"
#include "core/bounce/detail/rules.hpp"
#include "core/bounce/detail/text_report.hpp"

using namespace outpost::bounce;

namespace {

// The only entry of a bounce that must name exactly one recipient.
classification only(const std::string& raw) {
    auto result = classify_message(raw);
    REQUIRE(result.size() == 1);
    return result.front();
}

std::string dsn(const std::string& human, const std::string& fields) {
    return "From: MAILER-DAEMON@mx.example.org\n"
           "To: sender@example.com\n"
           "Subject: Delivery Status Notification (Failure)\n"
           "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
           "--B\nContent-Type: text/plain\n\n" +
           human +
           "\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; "
           "mx.example.org\n\n" +
           fields + "\n--B--\n";
}

}  // namespace

TEST_CASE("Exchange 2007: the recipient alone on a line, the NDR code after the status") {
    auto c = only(
        "From: postmaster@exchange.example.org\n"
        "To: sender@example.com\n"
        "Subject: Undeliverable: hello\n"
        "Content-Language: en-US\n\n"
        "Delivery has failed to these recipients or groups:\n\n"
        "Diagnostic information for administrators:\n\n"
        "Generating server: mx.exchange.example.org\n\n"
        "gone@exchange.example.org\n"
        "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n\n"
        "Original message headers:\n\n"
        "Received: from mail.example.com by mx.exchange.example.org\n"
        "From: sender@example.com\n"
        "To: gone@exchange.example.org\n"
    );
    CHECK(c.recipient == "gone@exchange.example.org");
    CHECK(c.status == "5.1.1");
    CHECK(c.why == reason::userunknown);
    CHECK(c.hardness == severity::hard);
}

TEST_CASE("Exchange 2007: RecipSizeLimit is a message too big, QUEUE.Expired is expired") {
    auto big = classify(outpost::smtp::reply{
        550, "5.2.3", "RESOLVER.RST.RecipSizeLimit; message too large for this recipient"});
    CHECK(big.why == reason::mesgtoobig);
    auto late = classify(outpost::smtp::reply{550, "4.4.7", "QUEUE.Expired; message expired"});
    CHECK(late.why == reason::expired);
    CHECK(late.hardness == severity::soft);
}

TEST_CASE("Exchange 2003: the MSEXCH:IMS error code decides") {
    auto c = only(
        "From: postmaster@example.org\n"
        "To: sender@example.com\n"
        "Subject: Undeliverable: hello\n"
        "X-MS-Embedded-Report: \n\n"
        "Your message\n\n"
        "  To:      who@example.org\n"
        "  Subject: hello\n"
        "  Sent:    Thu, 29 Apr 2010 18:14:35 +0000\n\n"
        "did not reach the following recipient(s):\n\n"
        "who@example.org on Thu, 29 Apr 2010 18:14:35 +0000\n"
        "    The recipient name is not recognized\n"
        "    MSEXCH:IMS:EXAMPLE:EXAMPLE:EXCHANGE 0 (000C05A6) Unknown Recipient\n"
    );
    CHECK(c.recipient == "who@example.org");
    CHECK(c.why == reason::userunknown);
}

TEST_CASE("Courier: the refused command is in the human-readable part of the DSN") {
    auto raw =
        dsn("                           UNDELIVERABLE MAIL\n\n"
            "Your message to the following recipients cannot be delivered:\n\n"
            "<who@example.net>:\n"
            "    mx.example.net [192.0.2.25]:\n"
            ">>> RCPT TO:<who@example.net>\n"
            "<<< 550 Unknown user\n",
            "Final-Recipient: rfc822; who@example.net\nAction: failed\nStatus: 5.0.0\n"
            "Diagnostic-Code: smtp; 550 Unknown user\n");
    auto c = only(raw);
    CHECK(c.why == reason::userunknown);
    // The same refusal after DATA is a content filter's, and soft.
    auto filtered = raw;
    filtered.replace(filtered.find(">>> RCPT TO:<who@example.net>"), 29, ">>> DATA");
    CHECK(only(filtered).why == reason::filtered);
    CHECK(only(filtered).hardness == severity::soft);
}

TEST_CASE("Courier: No such domain. with an unknown diagnostic type is a missing host") {
    auto c = only(
        dsn("UNDELIVERABLE MAIL\n",
            "Final-Recipient: rfc822; who@nowhere.example\nAction: failed\nStatus: 5.0.0\n"
            "Diagnostic-Code: unknown; No such domain.\n")
    );
    CHECK(c.why == reason::hostunknown);
}

TEST_CASE("Lotus Notes: not listed in the Name & Address Book is a missing mailbox") {
    auto c = only(
        "From: Postmaster@notes.example.jp\n"
        "To: sender@example.com\n"
        "Subject: Undeliverable message\n\n"
        "------- Failure Reasons  --------\n\n"
        "User not listed in public Name & Address Book\n"
        "who@notes.example.jp\n\n"
        "------- Returned Message --------\n"
        "Received: from mail.example.com\n"
    );
    CHECK(c.recipient == "who@notes.example.jp");
    CHECK(c.why == reason::userunknown);
}

TEST_CASE("Domino: the addresses after 'was not delivered to:' are the recipients, in order") {
    std::string fields =
        "Final-Recipient: rfc822;first@relay.example.org\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: X-Notes; User first (first@example.com) not listed in Domino "
        "Directory\n\n"
        "Final-Recipient: rfc822;second@relay.example.org\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: X-Notes; Cannot route mail to user\n";
    std::string human =
        "Your message\n\n  Subject: Hello\n\nwas not delivered to:\n\n  first@example.com\n\n"
        "because:\n\n  User first (first@example.com) not listed in Domino Directory\n\n"
        "Your message\n\n  Subject: Hello\n\nwas not delivered to:\n\n  second@example.com\n\n"
        "because:\n\n  Cannot route mail to user\n";
    auto report = dsn(human, fields);
    auto domino = report;
    domino.replace(
        domino.find("Delivery Status Notification (Failure)"), 38,
        "DELIVERY FAILURE: User first not listed"
    );
    auto result = classify_message(domino);
    REQUIRE(result.size() == 2);
    CHECK(result[0].recipient == "first@example.com");
    CHECK(result[0].why == reason::userunknown);
    CHECK(result[1].recipient == "second@example.com");
    CHECK(result[1].why == reason::filtered);
    // Only Domino's reports: another MTA's Final-Recipient stays what it says.
    auto other = classify_message(report);
    REQUIRE(other.size() == 2);
    CHECK(other[0].recipient == "first@relay.example.org");
    // A text that names fewer recipients than the fields leaves the fields alone.
    auto short_text = domino;
    short_text.replace(short_text.find("  second@example.com"), 20, "");
    auto fallback = classify_message(short_text);
    REQUIRE(fallback.size() == 2);
    CHECK(fallback[1].recipient == "second@relay.example.org");
}

TEST_CASE(
    "DragonFly Mail Agent: the recipient from 'error delivering your mail to', the reply after"
) {
    const std::string head =
        "From: MAILER-DAEMON@df.example.jp\n"
        "To: sender@example.jp\n"
        "Subject: Mail delivery failed\n"
        "Received: from df.example.jp (DragonFly Mail Agent v0.13); Tue, 1 Jan 2024 00:00:00\n\n"
        "This is the DragonFly Mail Agent v0.13 at df.example.jp.\n\n"
        "There was an error delivering your mail to <neko@example.org>.\n\n";
    const std::string tail =
        "\n\nOriginal message follows.\n\nFrom: sender@example.jp\nTo: neko@example.org\n";

    struct row {
        const char* said;
        reason why;
    };

    for (auto [said, why] : {
             row{"mx.example.org [192.0.2.9] did not like our RCPT TO:\n552 5.2.2 "
                 "<neko@example.org>: Recipient address rejected: Mailbox full",
                 reason::mailboxfull},
             row{"mx.example.org [192.0.2.9] did not like our RCPT TO:\n550 5.1.1 "
                 "<neko@example.org>: Recipient address rejected: User unknown",
                 reason::userunknown},
             row{"DNS lookup failure: host example.org not found", reason::hostunknown},
             row{"Could not deliver for the last 432000 seconds. Giving up.", reason::expired},
         }) {
        CAPTURE(said);
        auto c = only(head + said + tail);
        CHECK(c.recipient == "neko@example.org");
        CHECK(c.why == why);
    }
}

TEST_CASE("BIGLOBE: the address under 'had delivery problems', the reason under 'Non-delivered'") {
    auto biglobe = [](const std::string& said) {
        return "From: postmaster@biglobe.ne.jp\n"
               "To: sender@example.jp\n"
               "Subject: Returned mail: Delivery failed\n"
               "Content-Type: multipart/mixed; boundary=\"B\"\n\n"
               "--B\nContent-Type: text/plain; charset=\"iso-2022-jp\"\n\n"
               "   ----- The following addresses had delivery problems -----\n"
               "kijitora@mail.biglobe.ne.jp\n\n"
               "   ----- Non-delivered information -----\n" +
               said +
               "\n\n--B\nContent-Type: message/rfc822\n\n"
               "From: sender@example.jp\nTo: kijitora@mail.biglobe.ne.jp\n\nhi\n--B--\n";
    };
    auto full =
        only(biglobe("The number of messages in recipient's mailbox exceeded the local limit."));
    CHECK(full.recipient == "kijitora@mail.biglobe.ne.jp");
    CHECK(full.why == reason::mailboxfull);
    // BIGLOBE's own "User unknown" after the message was read is its filter (soft).
    auto unknown = only(biglobe("Mail Delivery Failed... User unknown"));
    CHECK(unknown.why == reason::filtered);
    CHECK(unknown.hardness == severity::soft);
}

TEST_CASE("Office 365: its own status codes decide in the NDRs it writes, and only there") {
    auto ndr = [](const std::string& headers, const std::string& status, const std::string& said) {
        return "From: postmaster@example.onmicrosoft.com\n"
               "To: sender@example.jp\n"
               "Subject: Undeliverable: Hello\n" +
               headers +
               "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
               "--B\nContent-Type: text/plain\n\n"
               "Delivery has failed to these recipients or groups:\n\n"
               "kijitora@example.com<mailto:kijitora@example.com>\n\n"
               "--B\nContent-Type: message/delivery-status\n\n"
               "Reporting-MTA: dns; XXXX.prod.outlook.com\n\n"
               "Final-Recipient: rfc822; kijitora@example.com\nAction: failed\nStatus: " +
               status + "\nDiagnostic-Code: smtp; " + said + "\n\n--B--\n";
    };
    const std::string office365 =
        "X-MS-Exchange-Message-Is-Ndr:\n"
        "Message-ID: <0001@XXXX.prod.outlook.com>\n";

    struct row {
        const char* status;
        const char* said;
        reason why;
    };

    for (auto [status, said, why] : {
             row{"5.4.1", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)",
                 reason::norelaying},
             row{"5.7.501", "550 5.7.501 Access denied, spam abuse detected", reason::spamdetected},
             row{"5.7.504", "550 5.7.504 Recipient address rejected: Access denied",
                 reason::filtered},
             row{"5.7.708", "550 5.7.708 Service unavailable. Access denied, traffic not accepted",
                 reason::toomanyconn},
             row{"4.7.500", "451 4.7.500 Server busy. Please try again later", reason::blocked},
         }) {
        CAPTURE(status);
        auto c = only(ndr(office365, status, said));
        CHECK(c.recipient == "kijitora@example.com");
        CHECK(c.why == why);
    }
    // The same report without Office 365's headers is read by the general table.
    auto plain = only(ndr("", "5.7.501", "550 5.7.501 Access denied, spam abuse detected"));
    CHECK(plain.why != reason::spamdetected);
    // A table row that only says "unknown user" leaves a more specific finding alone.
    auto full = only(ndr(office365, "5.1.10", "550 5.1.10 mailbox full"));
    CHECK(full.why == reason::mailboxfull);
}

TEST_CASE("Postfix: a connection it gave up on is what the 4.4.x status says, never a suspension") {
    auto fields = [](const std::string& status, const std::string& said) {
        return "Final-Recipient: rfc822; who@example.jp\nAction: failed\nStatus: " + status +
               "\nDiagnostic-Code: X-Postfix; delivery temporarily suspended: " + said + "\n";
    };

    struct row {
        const char* status;
        const char* said;
        reason why;
    };

    for (auto [status, said, why] : {
             row{"4.4.1", "connect to mx.example.jp[192.0.2.1]:25: Connection timed out",
                 reason::expired},
             row{"4.4.1", "connect to mx.example.jp[192.0.2.1]:25: Connection refused",
                 reason::expired},
             row{"4.4.2",
                 "lost connection with mx.example.jp[192.0.2.1] while receiving the initial "
                 "server greeting",
                 reason::networkerror},
             row{"4.4.2",
                 "conversation with mx.example.jp[192.0.2.1] timed out while receiving the "
                 "initial server greeting",
                 reason::networkerror},
         }) {
        CAPTURE(said);
        auto c = only(dsn("I'm sorry to have to inform you...", fields(status, said)));
        CHECK(c.why == why);
        CHECK(c.hardness == severity::soft);
    }
}

TEST_CASE("a local delivery program's failure (X-Unix) is a mailer error whatever the 5.3.0") {
    auto c = only(
        dsn("----- Transcript of session follows -----\n",
            "Final-Recipient: RFC822; who@example.jp\nAction: failed\nStatus: 5.3.0\n"
            "Diagnostic-Code: X-Unix; 1\n")
    );
    CHECK(c.why == reason::mailererror);
}

TEST_CASE("Exim: a refused EHLO is a blocked host, a pipe that failed a mailer error") {
    auto exim = [](const std::string& said) {
        return "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
               "To: sender@example.org\n"
               "Subject: Mail delivery failed: returning message to sender\n"
               "X-Failed-Recipients: who@example.jp\n\n"
               "This message was created automatically by mail delivery software.\n\n"
               "A message that you sent could not be delivered to one or more of its\n"
               "recipients. This is a permanent error. The following address(es) failed:\n\n"
               "  who@example.jp\n" +
               said +
               "\n\n------ This is a copy of the message, including all the headers. ------\n\n"
               "From: sender@example.org\nTo: who@example.jp\n\ntest\n";
    };
    for (const char* said : {
             "    SMTP error from remote mail server after EHLO mx.example.org:\n"
             "    host mx.example.jp [192.0.2.1]: 550 5.7.1 Access denied",
             "    SMTP error from remote mail server after EHLO mx.example.org:\n"
             "    host mx.example.jp [192.0.2.1]: 550 5.1.1 user unknown",
         }) {
        CAPTURE(said);
        auto c = only(exim(said));
        CHECK(c.recipient == "who@example.jp");
        CHECK(c.why == reason::blocked);
        CHECK(c.hardness == severity::soft);
    }
    auto pipe =
        only(exim("    pipe to |/usr/local/bin/procmail\n"
                  "      generated by who@example.jp\n    local delivery failed"));
    CHECK(pipe.why == reason::mailererror);
}

TEST_CASE("au and EZweb: X-SPASIGN: NG marks the recipient's own filter, whatever the text") {
    std::string bounce =
        "From: Postmaster@ezweb.ne.jp\n"
        "To: sender@example.jp\n"
        "Subject: Mail System Error - Returned Mail\n"
        "X-SPASIGN: NG\n\n"
        "The user(s) account is disabled.\n\n"
        "<who@ezweb.ne.jp>: 550 user unknown (in reply to RCPT TO command)\n";
    auto c = only(bounce);
    CHECK(c.recipient == "who@ezweb.ne.jp");
    CHECK(c.why == reason::filtered);
    CHECK(c.hardness == severity::soft);
    auto unmarked = bounce;
    unmarked.replace(unmarked.find("X-SPASIGN: NG\n"), 14, "");
    CHECK(only(unmarked).why != reason::filtered);
}

TEST_CASE("PowerMTA: X-PowerMTA-BounceCategory files the failure, a specific reason stands") {
    auto pmta = [](const std::string& status, const std::string& said,
                   const std::string& category) {
        return dsn(
            "Hello, this is the mail server on pmta.example.org.\n",
            "Final-Recipient: rfc822;who@example.jp\nAction: failed\nStatus: " + status +
                "\nRemote-MTA: dns;mx.example.jp (192.0.2.1)\nDiagnostic-Code: smtp;" + said +
                "\nX-PowerMTA-BounceCategory: " + category + "\n"
        );
    };

    struct row {
        const char* status;
        const char* said;
        const char* category;
        reason why;
    };

    for (auto [status, said, category, why] : {
             row{"5.0.0", "550 Mailbox not available", "bad-mailbox", reason::userunknown},
             row{"4.0.0", "421 Try again later", "message-expired", reason::expired},
             row{"5.0.0", "554 Message refused", "policy-related", reason::policyviolation},
             row{"5.0.0", "552 Sorry", "quota-issues", reason::mailboxfull},
             row{"5.0.0", "550 Go away", "spam-related", reason::spamdetected},
             // A category that only says "unknown user" leaves a full mailbox alone.
             row{"5.2.2", "552 5.2.2 Mailbox full", "bad-mailbox", reason::mailboxfull},
             // A category of its own (spamdetected) is what PowerMTA decided.
             row{"5.1.1", "550 5.1.1 No such user", "spam-related", reason::spamdetected},
         }) {
        CAPTURE(category);
        auto c = only(pmta(status, said, category));
        CHECK(c.recipient == "who@example.jp");
        CHECK(c.why == why);
    }
}

TEST_CASE("PowerMTA: a category never makes a temporary failure hard") {
    auto c = only(
        dsn("Hello, this is the mail server on pmta.example.org.\n",
            "Final-Recipient: rfc822;who@example.jp\nAction: delayed\nStatus: 4.0.0\n"
            "Diagnostic-Code: smtp;451 Try again later\nX-PowerMTA-BounceCategory: bad-mailbox\n")
    );
    CHECK(c.why != reason::userunknown);
    CHECK(c.hardness == severity::soft);
}

TEST_CASE("IMail Server and Zoho: their own phrases count in their own reports only") {
    std::string imail =
        "From: Postmaster <postmaster@example.jp>\n"
        "To: sender@example.org\n"
        "Subject: Undeliverable Mail \n"
        "X-Mailer: <SMTP32 v8.22>\n\n"
        "Unknown user: who@example.jp\n\n"
        "Original message follows.\n\nFrom: sender@example.org\nTo: who@example.jp\n\nhi\n";
    auto c = only(imail);
    CHECK(c.recipient == "who@example.jp");
    CHECK(c.why == reason::userunknown);
    CHECK(c.status == "5.0.911");  // derived again for the reason that stands
    auto retries = imail;
    retries.replace(retries.find("Unknown user: "), 14, "Delivery failed 3 attempts: ");
    CHECK(only(retries).why == reason::expired);
    // Without IMail's headers the same words are the general case: no RCPT, so a filter.
    auto other = imail;
    other.replace(other.find("X-Mailer: <SMTP32 v8.22>\n"), 25, "");
    other.replace(other.find("Undeliverable Mail "), 19, "Returned mail");
    CHECK(only(other).why == reason::filtered);

    std::string zoho =
        "From: mailer-daemon@mail.zoho.com\n"
        "To: sender@zoho.com\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "X-ZohoMail: Si CHF_MF_NL SS_10\n\n"
        "This message was created automatically by mail delivery software.\n"
        "A message that you sent could not be delivered to one or more of its recipients.\n\n"
        "[Status: Error, Address: <who@example.jp>, ResponseCode 421, , Host not reachable.]\n";
    auto z = only(zoho);
    CHECK(z.recipient == "who@example.jp");
    CHECK(z.why == reason::expired);
}

TEST_CASE("a DSN's Action: expired (SendGrid) is an expiry, whatever the connection said") {
    auto c = only(
        dsn("Delivery failed.\n",
            "Final-Recipient: rfc822; who@example.jp\nAction: expired\nStatus: 4.2.0\n"
            "Diagnostic-Code: smtp; 400 4.2.0 Unable to connect to host\n")
    );
    CHECK(c.why == reason::expired);
    CHECK(c.hardness == severity::soft);
}

TEST_CASE("Gmail's old reports: the (state N) decides unless the reply quotes a specific status") {
    auto gmail = [](const std::string& said) {
        return "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
               "To: sender@gmail.com\n"
               "Subject: Delivery Status Notification (Failure)\n"
               "X-Failed-Recipients: who@example.jp\n\n"
               "This is an automatically generated Delivery Status Notification\n\n"
               "Delivery to the following recipient failed permanently:\n\n"
               "     who@example.jp\n\n"
               "Technical details of permanent failure:\n"
               "Google tried to deliver your message, but it was rejected by the recipient "
               "domain. We recommend contacting the other email provider for further "
               "information about the cause of this error. The error that the other server "
               "returned was:\n" +
               said + "\n\n----- Original message -----\n\nTo: who@example.jp\n\ntest\n";
    };

    struct row {
        const char* said;
        reason why;
    };

    for (auto [said, why] : {
             row{"550 550 #5.1.0 Address rejected who@example.jp (state 17).", reason::filtered},
             row{"554 554 5.7.0 Header error (state 18).", reason::filtered},
             row{"550 550 Access denied (state 13).", reason::blocked},
             row{"500 Remote server does not support SMTP Authenticated Relay (state 12).",
                 reason::norelaying},
             row{"550 550 5.1.1 <who@example.jp>... User Unknown (state 14).", reason::userunknown},
             row{"450 450 4.2.2 <who@example.jp>... Mailbox Full (state 14).", reason::mailboxfull},
         }) {
        CAPTURE(said);
        auto c = only(gmail(said));
        CHECK(c.recipient == "who@example.jp");
        CHECK(c.why == why);
    }
}

TEST_CASE("Gmail's old reports: a delay warning's state never makes a hard bounce") {
    std::string delayed =
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        "To: sender@gmail.com\n"
        "Subject: Delivery Status Notification (Delay)\n\n"
        "Delivery to the following recipient has been delayed:\n\n"
        "     who@example.jp\n\n"
        "Message will be retried for 2 more day(s)\n\n"
        "Technical details of temporary failure:\n"
        "450 450 Service temporarily unavailable (state 14).\n";
    auto c = only(delayed);
    CHECK(c.recipient == "who@example.jp");
    CHECK(c.hardness == severity::soft);
}

TEST_CASE("Sendmail: a Final-Recipient without its local part takes the transcript's address") {
    auto c = only(
        dsn("   ----- Transcript of session follows -----\n"
            "550 5.1.1 <who@example.jp>... User unknown\n",
            "Final-Recipient: RFC822; @example.jp\nAction: failed\nStatus: 5.1.1\n")
    );
    CHECK(c.recipient == "who@example.jp");
    CHECK(c.why == reason::userunknown);
    // No address at that domain anywhere: the field stays what it says.
    auto bare = only(
        dsn("   ----- Transcript of session follows -----\n550 5.1.1 User unknown\n",
            "Final-Recipient: RFC822; @example.jp\nAction: failed\nStatus: 5.1.1\n")
    );
    CHECK(bare.recipient == "@example.jp");
    // The sender at the same domain, named on the transcript's MAIL FROM, is never taken.
    auto same_domain = only(
        dsn("   ----- Transcript of session follows -----\n"
            ">>> MAIL From:<sender@example.jp> SIZE=1024\n"
            "<<< 250 2.1.0 <sender@example.jp>... Sender ok\n"
            ">>> RCPT To:<who@example.jp>\n"
            "<<< 550 5.1.1 <who@example.jp>... User unknown\n",
            "Final-Recipient: RFC822; @example.jp\nAction: failed\nStatus: 5.1.1\n")
    );
    CHECK(same_domain.recipient == "who@example.jp");
    // ... nor the sender's "Sender ok" when the transcript has no RCPT TO line.
    auto no_rcpt_line = only(
        dsn("   ----- Transcript of session follows -----\n"
            ">>> MAIL From:<sender@example.jp> SIZE=1024\n"
            "<<< 250 2.1.0 <sender@example.jp>... Sender ok\n"
            "<<< 550 5.1.1 <who@example.jp>... User unknown\n",
            "Final-Recipient: RFC822; @example.jp\nAction: failed\nStatus: 5.1.1\n")
    );
    CHECK(no_rcpt_line.recipient == "who@example.jp");
}

TEST_CASE("Amazon SES: a JSON bounce gives each recipient its own status") {
    auto result = classify_message(
        "From: no-reply@sns.amazonaws.com\n"
        "To: bounces@example.com\n"
        "Subject: AWS Notification Message\n"
        "x-amz-sns-message-id: 0b2c\n\n"
        "{\n  \"Type\" : \"Notification\",\n"
        "  \"Message\" : "
        "\"{\\\"notificationType\\\":\\\"Bounce\\\",\\\"bounce\\\":{\\\"bounceType\\\":"
        "\\\"Permanent\\\",\\\"bounceSubType\\\":\\\"General\\\",\\\"bouncedRecipients\\\":[{"
        "\\\"emailAddr!\n"
        " ess\\\":\\\"gone@example.net\\\",\\\"action\\\":\\\"failed\\\",\\\"status\\\":\\\"5.1."
        "1\\\","
        "\\\"diagnosticCode\\\":\\\"smtp; 550 5.1.1 user unknown\\\"},{\\\"emailAddress\\\":"
        "\\\"full@example.net\\\",\\\"action\\\":\\\"failed\\\",\\\"status\\\":\\\"5.2.2\\\","
        "\\\"diagnosticCode\\\":\\\"smtp; 552 5.2.2 mailbox "
        "full\\\"}]},\\\"mail\\\":{\\\"source\\\":"
        "\\\"sender@example.com\\\"}}\"\n}\n"
    );
    REQUIRE(result.size() == 2);
    CHECK(result[0].recipient == "gone@example.net");
    CHECK(result[0].status == "5.1.1");
    CHECK(result[0].why == reason::userunknown);
    CHECK(result[0].hardness == severity::hard);
    CHECK(result[1].recipient == "full@example.net");
    CHECK(result[1].why == reason::mailboxfull);
    CHECK(result[1].hardness == severity::soft);
}

TEST_CASE("Amazon SES: complaints are feedback and deliveries are delivered") {
    auto complaint = only(
        "Subject: AWS Notification Message\n\n"
        "{\"notificationType\":\"Complaint\",\"complaint\":{\"complainedRecipients\":"
        "[{\"emailAddress\":\"reader@example.net\"}],\"complaintFeedbackType\":\"abuse\"}}\n"
    );
    CHECK(complaint.recipient == "reader@example.net");
    CHECK(complaint.why == reason::feedback);
    auto delivery = only(
        "Subject: AWS Notification Message\n\n"
        "{\"notificationType\":\"Delivery\",\"delivery\":{\"recipients\":[\"ok@example.net\"],"
        "\"smtpResponse\":\"250 2.6.0 Message received\"}}\n"
    );
    CHECK(delivery.recipient == "ok@example.net");
    CHECK(delivery.why == reason::delivered);
    CHECK(delivery.status == "2.6.0");
}

TEST_CASE("Amazon SES: a transient MailboxFull sub-type settles the reason") {
    auto c = only(
        "Subject: AWS Notification Message\n\n"
        "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Transient\","
        "\"bounceSubType\":\"MailboxFull\",\"bouncedRecipients\":[{\"emailAddress\":"
        "\"full@example.net\"}]}}\n"
    );
    CHECK(c.why == reason::mailboxfull);
    CHECK(c.status.starts_with("4."));
}

TEST_CASE("Apache James: the recipient is the RCPT TO of the message details") {
    auto c = only(
        "From: postmaster@james.example.org\n"
        "To: sender@example.com\n"
        "Subject: [BOUNCE]\n\n"
        "Hi. This is the James mail server at james.example.org.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "Error message below:\n"
        "550 - Requested action not taken: no such user here\n\n"
        "Message details:\n"
        "  Subject: hello\n"
        "  MAIL FROM: sender@example.com\n"
        "  RCPT TO: who@example.org\n"
        "  Size (in bytes): 1024\n"
    );
    CHECK(c.recipient == "who@example.org");
}

TEST_CASE("Exim: retry timeout exceeded is expired, and soft") {
    auto c = only(
        "From: Mail Delivery System <Mailer-Daemon@mx.example.com>\n"
        "To: sender@example.com\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "X-Failed-Recipients: late@example.net\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        "  late@example.net\n"
        "    retry timeout exceeded\n"
    );
    CHECK(c.why == reason::expired);
    CHECK(c.hardness == severity::soft);
}

TEST_CASE("Sendmail: a refused MAIL FROM is the sender rejected, not the recipient") {
    auto c = only(
        dsn("   ----- Transcript of session follows -----\n"
            "... while talking to mx.example.net.:\n"
            ">>> MAIL From:<sender@example.com>\n"
            "<<< 553 5.1.8 <sender@example.com>... Domain of sender address does not exist\n",
            "Final-Recipient: RFC822; who@example.net\nAction: failed\nStatus: 5.1.8\n"
            "Diagnostic-Code: SMTP; 553 5.1.8 <sender@example.com>... Domain of sender address "
            "does not exist\n")
    );
    CHECK(c.why == reason::rejected);
    CHECK(c.hardness == severity::soft);
}

TEST_CASE("au (KDDI) and EZweb: carrier texts decide") {
    auto full = only(
        "From: no-reply@app.example.dion.ne.jp\n"
        "To: sender@example.com\n"
        "Subject: Mail delivery failed\n\n"
        "Your mail sent on: Thu, 29 Apr 2010 11:04:47 +0900\n"
        "    Could not be delivered to: <who@ezweb.example.jp>\n"
        "    As their mailbox is full.\n"
    );
    CHECK(full.recipient == "who@ezweb.example.jp");
    CHECK(full.why == reason::mailboxfull);
    auto disabled = only(
        "From: Postmaster@ezweb.example.jp\n"
        "To: sender@example.com\n"
        "Subject: Mail System Error - Returned Mail\n\n"
        "The user(s) account is disabled.\n\n"
        "<who@ezweb.example.jp>: 550 user unknown\n"
    );
    CHECK(disabled.why == reason::suspend);
    CHECK(disabled.hardness == severity::soft);
}

TEST_CASE("Orange and La Poste: the LPN/OFR code after the text decides (lhostre rows)") {
    auto c = classify(outpost::smtp::reply{
        550, "5.5.0", "Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416"});
    CHECK(c.why == reason::userunknown);
    auto blocked = classify(outpost::smtp::reply{
        550, "5.5.0", "Service refuse. Veuillez essayer plus tard. LPN007_102"});
    CHECK(blocked.why == reason::blocked);
}

TEST_CASE("RFC 3463 codes that only some MTAs send name their own reasons") {
    struct row {
        const char* status;
        reason why;
    };

    const row rows[] = {
        {"5.2.3", reason::exceedlimit},   {"5.3.2", reason::notaccept},
        {"4.3.2", reason::notaccept},     {"4.4.1", reason::expired},
        {"5.4.4", reason::hostunknown},   {"4.4.4", reason::networkerror},
        {"5.7.25", reason::requireptr},   {"5.7.27", reason::notaccept},
        {"5.7.17", reason::hasmoved},     {"5.5.3", reason::toomanyconn},
        {"4.7.1", reason::blocked},       {"5.7.1", reason::securityerror},
        {"5.6.3", reason::contenterror},  {"5.1.3", reason::userunknown},
        {"5.7.28", reason::spamdetected}, {"4.2.1", reason::suspend},
    };
    for (const auto& r : rows) {
        CAPTURE(r.status);
        auto c = classify(outpost::smtp::reply{r.status[0] == '4' ? 450 : 550, r.status, ""});
        CHECK(c.why == r.why);
    }
}

TEST_CASE("a temporary host lookup failure is a network error, never a hard bounce") {
    auto c = only(
        dsn("This is only a delayed delivery notice.\n",
            "Final-Recipient: rfc822; who@example.net\nAction: delayed\nStatus: 4.0.0\n"
            "Diagnostic-Code: smtp; DNS Error: Domain name not found\n")
    );
    CHECK(c.why == reason::networkerror);
    CHECK(c.hardness == severity::soft);
}

TEST_CASE("a report whose recipients cannot be told apart and says nothing is undefined") {
    auto c = only(
        "From: MAILER-DAEMON@mx.example.org\n"
        "To: sender@example.com\n"
        "Subject: Undelivered Mail Returned to Sender\n\n"
        "Your message could not be delivered to who@example.net.\n"
    );
    CHECK(c.why == reason::undefined);
}

TEST_CASE("rules: pair rows need their fragments in order, isnot rows veto a reason") {
    detail::rule_set r{
        "pair\tuserunknown\tuser | does not exist\n"
        "text\trejected\taddress rejected\n"
        "isnot\trejected\trecipient address rejected\n"};
    CHECK(r.errors().empty());
    CHECK(r.says(reason::userunknown, "user who does not exist"));
    CHECK_FALSE(r.says(reason::userunknown, "does not exist: user"));
    CHECK(r.says(reason::rejected, "sender address rejected"));
    CHECK_FALSE(r.says(reason::rejected, "recipient address rejected"));
}

TEST_CASE("rules: the command named last is the one refused") {
    detail::rule_set r{"command\tMAIL\tmail from:\ncommand\tRCPT\trcpt to:\ncommand\tBOGUS\tx\n"};
    CHECK(r.errors().size() == 1);
    CHECK(r.command(">>> mail from:<a@b> <<< 250 ok >>> rcpt to:<c@d> <<< 550 no") == "RCPT");
    CHECK(r.command(">>> mail from:<a@b> <<< 553 denied") == "MAIL");
    CHECK(r.command("nothing here").empty());
}

TEST_CASE("rules: lhost rows name their MTAs, and rules_without drops them") {
    std::string tsv =
        "lhost\tuserunknown\tresolver.adr.recipnotfound\texchange2007,outlook\n"
        "lhostre\tuserunknown\t\\bofr_416\\b\tfranceptt\n"
        "text\tmailboxfull\tover quota\n";
    detail::rule_set all{tsv};
    CHECK(all.errors().empty());
    CHECK(all.lhost("550 5.1.1 resolver.adr.recipnotfound; not found") == reason::userunknown);
    CHECK(all.lhost("invalid recipient. ofr_416") == reason::userunknown);
    detail::rule_set without{detail::rules_without(tsv, "outlook")};
    CHECK_FALSE(without.lhost("resolver.adr.recipnotfound"));
    CHECK(without.lhost("ofr_416") == reason::userunknown);
    CHECK(without.says(reason::mailboxfull, "user is over quota"));
}

TEST_CASE("rules: scoped_rules replaces the table on this thread while it lives") {
    detail::rule_set empty{""};
    auto before = classify(outpost::smtp::reply{550, "5.1.1", "user unknown"});
    {
        detail::scoped_rules use(empty);
        CHECK(detail::rules().size() == 0);
    }
    CHECK(detail::rules().size() > 100);
    CHECK(classify(outpost::smtp::reply{550, "5.1.1", "user unknown"}).why == before.why);
}

TEST_CASE("ordinary mail that reaches the bounce address is no bounce") {
    CHECK(classify_message("From: Alice <alice@example.net>\n"
                           "To: bounces@example.com\n"
                           "Subject: hello there\n\n"
                           "Hi, please write to bob@example.org instead.\n")
              .empty());
    // The same text from a mail system is a bounce that does not say why.
    auto c = only(
        "From: MAILER-DAEMON@mx.example.net\n"
        "To: bounces@example.com\n"
        "Subject: hello there\n\n"
        "Hi, please write to bob@example.org instead.\n"
    );
    CHECK(c.recipient == "bob@example.org");
    CHECK(c.why == reason::undefined);
}

TEST_CASE("reply code 556 without a status is a domain that accepts no mail (RFC 7504)") {
    auto c = classify(outpost::smtp::reply{556, "", "Domain does not accept mail"});
    CHECK(c.why == reason::notaccept);
    CHECK(c.hardness == severity::hard);
}

TEST_CASE("iMail Server: the recipient follows the error on its line") {
    auto c = only(
        "From: postmaster@imail.example.org\n"
        "To: sender@example.com\n"
        "Subject: Undeliverable Mail\n"
        "X-Mailer: <SMTP32 v8.22>\n\n"
        "Unknown user: who@imail.example.org\n\n"
        "Original message follows.\n\n"
        "Received: from mail.example.com\n"
        "From: sender@example.com\n"
    );
    CHECK(c.recipient == "who@imail.example.org");
}

TEST_CASE("a session transcript's MAIL FROM is the sender, never a recipient") {
    auto c = only(
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\n"
        "To: postmaster@mx.example.com (Postmaster)\n"
        "Subject: Postfix SMTP server: errors from localhost[127.0.0.1]\n\n"
        "Transcript of session follows.\n\n"
        " In:  MAIL\n     FROM:<bounce-123=who@sender.example.net>\n"
        " Out: 250 2.1.0 Ok\n"
        " In:  RCPT TO:<who@example.org>\n"
        " Out: 250 2.1.5 Ok\n"
        " In:  DATA\n"
        " Out: 451 4.3.0 Error: queue file write error\n"
    );
    CHECK(c.recipient == "who@example.org");
    CHECK(c.why == reason::systemerror);
}

TEST_CASE("rules: a regex row's guard never hides a match") {
    detail::rule_set r{
        "regex\tspamdetected\tabc|def\n"
        "regex\tblocked\t\\b(lpn|ofr)_1\\b\n"
        "regex\tvirusdetected\t(x)?yz\n"
        "regex\tmailboxfull\tquota?s exceeded\n"};
    CHECK(r.errors().empty());
    CHECK(r.says(reason::spamdetected, "only def here"));
    CHECK(r.says(reason::blocked, "code ofr_1 here"));
    CHECK_FALSE(r.says(reason::blocked, "code xyz_1 here"));
    CHECK(r.says(reason::virusdetected, "just yz"));
    CHECK(r.says(reason::mailboxfull, "quots exceeded"));
}

TEST_CASE("a DSN whose diagnostic is X-Unix names a failing local delivery program") {
    auto c = only(
        dsn("The mail system: command died with status 75\n",
            "Final-Recipient: rfc822; who@example.net\nAction: failed\nStatus: 5.0.0\n"
            "Diagnostic-Code: X-Unix; 75\n")
    );
    CHECK(c.why == reason::mailererror);
    CHECK(c.hardness == severity::soft);
}

TEST_CASE("rules: a guard is read past later groups, and not past a top-level alternative") {
    detail::rule_set r{
        "regex\tuserunknown\t\\b(lpn|ofr)(_|[0-9]{3}[-_])416\\b\n"
        "regex\tblocked\t(abc)x|yz\n"};
    CHECK(r.errors().empty());
    CHECK(r.says(reason::userunknown, "invalid recipient. lpn007_416"));
    CHECK(r.says(reason::blocked, "only yz"));
}

TEST_CASE("provider error codes and texts: Gmail, Yahoo, Microsoft, GoDaddy, Cox, Tencent") {
    struct row {
        int code;
        const char* status;
        const char* text;
        reason why;
    };

    const row rows[] = {
        {550, "5.7.1", "This message is likely unsolicited mail. To reduce spam...",
         reason::spamdetected},
        {421, "4.7.28", "Gmail has detected an unusual rate of unsolicited mail originating from",
         reason::blocked},
        {552, "5.2.2", "The email account that you tried to reach is over quota.",
         reason::mailboxfull},
        {421, "4.7.0",
         "[TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected "
         "volume or user complaints",
         reason::badreputation},
        {554, "", "delivery error: dd kijitora@yahoo.example is no longer valid.", reason::suspend},
        {450, "4.7.650", "The mail server has been temporarily rate limited due to IP reputation",
         reason::badreputation},
        {550, "5.7.1",
         "Service unavailable, Client host blocked by example.com using Customer "
         "Block list",
         reason::blocked},
        {550, "", "192.0.2.1 has sent to too many recipients this hour. IB607", reason::speeding},
        {554, "", "Virus infected message rejected. IB705", reason::virusdetected},
        {554, "", "AUP#CXDNS rDNS lookup failed", reason::requireptr},
        {550, "", "Mail is rejected by recipients", reason::rejected},
    };
    for (const auto& r : rows) {
        CAPTURE(r.text);
        CHECK(classify(outpost::smtp::reply{r.code, r.status, r.text}).why == r.why);
    }
}

TEST_CASE("Email Security.cloud (MessageLabs): 542 and Rejected is a missing mailbox") {
    auto c = only(
        dsn("I was unable to deliver your message to the following addresses:\n\n"
            "gone@example.net\n\nReason: 542 gone@example.net Rejected\n",
            "Final-Recipient: rfc822; gone@example.net\nAction: failed\n"
            "Status: 5.0.0\nDiagnostic-Code: smtp; 542 gone@example.net Rejected\n")
    );
    CHECK(c.why == reason::userunknown);
    CHECK(c.hardness == severity::hard);
    // 542 is the code that decides, not any "rejected".
    auto other = only(
        dsn("",
            "Final-Recipient: rfc822; someone@example.net\nAction: failed\n"
            "Status: 5.0.0\nDiagnostic-Code: smtp; 550 someone@example.net "
            "Rejected\n")
    );
    CHECK(other.why != reason::userunknown);
}

TEST_CASE("Mimecast: a security policy's signature is a virus or spam score, not a policy") {
    auto c = classify(outpost::smtp::reply{
        554, "", "email rejected due to security policies - MCSpamSignature.sa.2.2"});
    CHECK(c.why == reason::virusdetected);
    CHECK(c.hardness == severity::soft);
    auto host = classify(outpost::smtp::reply{
        554, "", "Host network not allowed - https://community.mimecast.com/docs/DOC-1369#554"});
    CHECK(host.why == reason::policyviolation);
}

TEST_CASE("the host that answered is read from Postfix, Exim, Sendmail and Remote-MTA") {
    using detail::remote_host_in;
    CHECK(
        remote_host_in("<a@b.example>: host MFSMAX.docomo.ne.jp[203.0.113.1] said: 550 x") ==
        "mfsmax.docomo.ne.jp"
    );
    CHECK(
        remote_host_in("SMTP error from remote mail server after RCPT TO:<a@b.example>:\n"
                       "    host mx.example.net [192.0.2.7]: 550 5.1.1 No such user"
        ) == "mx.example.net"
    );
    CHECK(
        remote_host_in("... while talking to mx1.example.org.:\n>>> DATA\n<<< 554 refused") ==
        "mx1.example.org"
    );
    CHECK(remote_host_in("service222.mimecast.com") == "service222.mimecast.com");
    CHECK(remote_host_in("mx.example.com [192.0.2.1]") == "mx.example.com");
    CHECK(remote_host_in("550 5.1.1 user unknown").empty());
    CHECK(remote_host_in("the host is down [192.0.2.1]").empty());     // no dotted name
    CHECK(remote_host_in("ghost mx.example.com[192.0.2.1]").empty());  // not the word "host"
    CHECK(remote_host_in("Host or domain name not found. Name service error for name=example.com "
                         "type=A: Host not found")
              .empty());
}

namespace {

std::string docomo_bounce(const std::string& host, const std::string& command) {
    return dsn(
        "<kuro@docomo.example>: host " + host + "[192.0.2.9] said: 550 Unknown user " +
            "kuro@docomo.example (in reply to " + command + " command)\n",
        "Final-Recipient: rfc822; kuro@docomo.example\nAction: failed\nStatus: 5.0.0\n"
        "Remote-MTA: dns; " +
            host + "\nDiagnostic-Code: smtp; 550 Unknown user kuro@docomo.example\n"
    );
}

}  // namespace

TEST_CASE("NTT DOCOMO: Unknown user after DATA is a refused sender, after RCPT a missing mailbox") {
    auto data = only(docomo_bounce("mfsmax.docomo.ne.jp", "end of DATA"));
    CHECK(data.why == reason::rejected);
    CHECK(data.hardness == severity::soft);
    auto rcpt = only(docomo_bounce("mfsmax.docomo.ne.jp", "RCPT TO"));
    CHECK(rcpt.why == reason::userunknown);
    CHECK(rcpt.hardness == severity::hard);
    // The same words from any other host after DATA: a filter (the generic reading).
    auto elsewhere = only(docomo_bounce("mx.example.net", "end of DATA"));
    CHECK(elsewhere.why == reason::filtered);
    // Heard during delivery, from the MX host delivery talked to.
    outpost::smtp::reply unknown{550, "", "Unknown user kuro@docomo.example"};
    CHECK(classify(unknown, reply_phase::data, "mfsmax.docomo.ne.jp").why == reason::rejected);
    CHECK(classify(unknown, reply_phase::rcpt, "mfsmax.docomo.ne.jp").why == reason::userunknown);
    CHECK(classify(unknown, reply_phase::data, "mx.example.net").why == reason::filtered);
    // A policy refusal from the same host is no missing mailbox.
    outpost::smtp::reply blocked{554, "", "Your IP is blocked"};
    CHECK(classify(blocked, reply_phase::rcpt, "mfsmax.docomo.ne.jp").why != reason::userunknown);
}

TEST_CASE("au (KDDI): '550 : User unknown' from its hosts is a filter, with an address a mailbox") {
    outpost::smtp::reply filter{550, "", ": User unknown"};
    CHECK(classify(filter, reply_phase::rcpt, "msmx.au.com").why == reason::filtered);
    CHECK(classify(filter, reply_phase::rcpt, "msmx.au.com").hardness == severity::soft);
    outpost::smtp::reply missing{550, "", "<kuro@au.example>: User unknown"};
    CHECK(classify(missing, reply_phase::rcpt, "msmx.au.com").why == reason::userunknown);
}

TEST_CASE("the host is read from a Postfix report's text when there is no DSN") {
    auto c = only(
        "From: MAILER-DAEMON@relay.example.org\n"
        "To: sender@example.com\n"
        "Subject: Undelivered Mail Returned to Sender\n\n"
        "This is the mail system at host relay.example.org.\n\n"
        "<kuro@docomo.example>: host mfsmax.docomo.ne.jp[192.0.2.9] said: 550 Unknown user\n"
        "    kuro@docomo.example (in reply to end of DATA command)\n"
    );
    CHECK(c.recipient == "kuro@docomo.example");
    CHECK(c.why == reason::rejected);
}

TEST_CASE("a Facebook response code counts only from Facebook's hosts") {
    outpost::smtp::reply code{
        550, "5.1.1", "RCP-P1 https://postmaster.facebook.com/response_codes"};
    CHECK(classify(code, reply_phase::rcpt, "mx.facebook.com").why == reason::userunknown);
    outpost::smtp::reply pref{550, "", "RCP-P2 Refused due to recipient preferences"};
    CHECK(classify(pref, reply_phase::rcpt, "smtpin.vvv.facebook.com").why == reason::filtered);
    // A host name that looks like a code, elsewhere: not Facebook's "too big".
    outpost::smtp::reply relay{554, "", "relay smtp-int-p2.corp.example refused the message"};
    CHECK(classify(relay, reply_phase::data, "mx.example.net").why != reason::mesgtoobig);
}

TEST_CASE("rhost rows: a provider's hosts and subdomains, every condition, malformed rows named") {
    detail::rule_set r{
        "rhost\trejected\tacme\tacme.example,.other.example\t5.0.0\tDATA\t-\n"
        "rhost\tmailboxfull\tacme\tacme.example\t-\t-\ttoo much mail\n"
        "rhost\tbogus\tacme\tacme.example\t-\t-\tx\n"
        "rhost\trejected\tacme\tacme.example\t-\t-\t-\n"
        "rhost\trejected\tacme\tacme.example\t-\tNOPE\t-\n"
        "rhost\trejected\tacme\t\t5.0.0\t-\t-\n"
        "rhost\trejected\tacme\tacme.example\t5.0.0\n"};
    CHECK(r.errors().size() == 5);
    CHECK(r.rhost("mx.acme.example", "5.0.0", "DATA", "") == reason::rejected);
    CHECK(r.rhost("acme.example", "5.0.0", "DATA", "") == reason::rejected);
    CHECK(r.rhost("mx.other.example", "5.0.0", "DATA", "") == reason::rejected);
    CHECK(!r.rhost("notacme.example", "5.0.0", "DATA", ""));  // not a subdomain
    CHECK(!r.rhost("mx.acme.example", "5.0.0", "RCPT", ""));
    CHECK(!r.rhost("mx.acme.example", "5.1.1", "DATA", ""));
    CHECK(r.rhost("mx.acme.example", "", "", "552 too much mail data") == reason::mailboxfull);
    CHECK(!r.rhost("", "5.0.0", "DATA", ""));
    CHECK(
        detail::rules_without("rhost\trejected\tacme\tacme.example\t5.0.0\t-\t-\n", "acme").empty()
    );
}
