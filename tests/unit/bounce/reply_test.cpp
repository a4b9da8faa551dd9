// Classification of synchronous SMTP replies: RFC 3463 codes and common provider texts.
#include <doctest/doctest.h>

#include "core/bounce/classifier.hpp"

using namespace outpost::bounce;
using outpost::smtp::reply;

namespace {

classification of(int code, std::string enhanced, std::string text) {
    return classify(reply{code, std::move(enhanced), std::move(text)});
}

}  // namespace

TEST_CASE("enhanced status codes alone name the reason (RFC 3463)") {
    struct row {
        int code;
        const char* enhanced;
        reason why;
        severity hardness;
    };

    const row rows[] = {
        {550, "5.1.1", reason::userunknown, severity::hard},
        {550, "5.1.2", reason::hostunknown, severity::hard},
        {550, "5.1.6", reason::hasmoved, severity::hard},
        {552, "5.2.2", reason::mailboxfull, severity::soft},
        {452, "4.2.2", reason::mailboxfull, severity::soft},
        {552, "5.3.4", reason::mesgtoobig, severity::soft},
        {550, "5.1.10", reason::notaccept, severity::hard},
        {556, "5.1.10", reason::notaccept, severity::hard},
        {550, "5.7.26", reason::authfailure, severity::soft},
        {550, "5.7.13", reason::suspend, severity::soft},
        {550, "5.1.8", reason::rejected, severity::soft},
        {447, "4.4.7", reason::expired, severity::soft},
    };
    for (const auto& r : rows) {
        CAPTURE(r.enhanced);
        auto c = of(r.code, r.enhanced, "");
        CHECK(c.why == r.why);
        CHECK(c.hardness == r.hardness);
        CHECK(c.status == r.enhanced);
    }
}

// Gmail's texts mean what Google documents (support.google.com/a/answer/3726730): "likely
// unsolicited mail" judges the message, "an unusual rate of unsolicited mail" the sending IP.
TEST_CASE("provider texts decide over the status code") {
    CHECK(
        of(550, "5.7.1",
           "Service unavailable, Client host [192.0.2.1] blocked using "
           "zen.spamhaus.org")
            .why == reason::blocked
    );
    CHECK(
        of(550, "5.7.1",
           "Our system has detected that this message is likely unsolicited "
           "mail. To reduce the amount of spam")
            .why == reason::spamdetected
    );
    CHECK(
        of(550, "5.7.26",
           "Unauthenticated email from example.com is not accepted due to "
           "domain's DMARC policy")
            .why == reason::authfailure
    );
    CHECK(
        of(421, "4.7.0",
           "[192.0.2.1] Our system has detected an unusual rate of unsolicited "
           "mail originating from your IP address")
            .why == reason::blocked
    );
    CHECK(
        of(550, "5.2.1", "The email account that you tried to reach is disabled.").why ==
        reason::suspend
    );
    CHECK(
        of(552, "5.2.2", "The email account that you tried to reach is over quota.").why ==
        reason::mailboxfull
    );
    CHECK(
        of(550, "5.7.1", "Connection rejected: no PTR record for 192.0.2.1").why ==
        reason::requireptr
    );
    CHECK(
        of(421, "4.7.28", "Gmail has detected an unusual rate limited sending").why ==
        reason::speeding
    );
    CHECK(of(554, "5.7.1", "Message rejected due to virus found").why == reason::virusdetected);
    CHECK(of(554, "5.7.1", "Relay access denied").why == reason::norelaying);
    CHECK(of(421, "", "Too many connections from your IP").why == reason::toomanyconn);
}

TEST_CASE("a reply without an enhanced code takes it from the text or derives it") {
    auto c = of(550, "", "5.1.1 <a@example.net>: Recipient address rejected: User unknown");
    CHECK(c.status == "5.1.1");
    CHECK(c.why == reason::userunknown);
    CHECK_FALSE(c.status_derived);

    auto d = of(550, "", "Requested action not taken: mailbox unavailable (user unknown)");
    CHECK(d.why == reason::userunknown);
    CHECK(d.status == "5.0.911");
    CHECK(d.status_derived);
    CHECK(d.hardness == severity::hard);
}

TEST_CASE("a temporary reply with no reason in it is a soft system error") {
    auto c = of(451, "", "Try again");
    CHECK(c.why == reason::systemerror);
    CHECK(c.status.starts_with("4."));
    CHECK(c.hardness == severity::soft);
}

TEST_CASE("a positive reply is delivered, and notaccept with a temporary status is soft") {
    CHECK(of(250, "2.0.0", "ok").why == reason::delivered);
    CHECK(severity_of(reason::notaccept, "4.1.10") == severity::soft);
    CHECK(severity_of(reason::notaccept, "5.1.10") == severity::hard);
}

TEST_CASE("a bare user unknown after DATA is a filter, at RCPT a missing mailbox") {
    reply r{550, "", "User unknown"};
    CHECK(classify(r, reply_phase::rcpt).why == reason::userunknown);
    CHECK(classify(r, reply_phase::data).why == reason::filtered);
    CHECK(classify(r, reply_phase::data).hardness == severity::soft);
}
