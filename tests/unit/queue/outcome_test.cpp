#include "core/queue/outcome.hpp"

#include <doctest/doctest.h>

using namespace outpost;
using namespace std::chrono_literals;
using kind = queue::outcome_line::kind;

namespace {

smtp::recipient_result answered(
    smtp::rcpt_outcome outcome,
    int code,
    std::string enhanced,
    std::string text,
    smtp::client_stage stage
) {
    return {
        "user@example.com", outcome, smtp::reply{code, std::move(enhanced), std::move(text)},
        stage};
}

queue::attempt_facts fresh() {
    queue::attempt_facts f;
    f.arrived = 1000;
    f.now = 1060;
    f.lifetime = 5 * 24h;
    return f;
}

}  // namespace

TEST_CASE("a receiver's reply decides: delivered, bounced or deferred, with its status") {
    auto facts = fresh();
    auto ok =
        answered(smtp::rcpt_outcome::delivered, 250, "2.0.0", "ok", smtp::client_stage::data_end);
    auto o = queue::decide_outcome(3, &ok, facts);
    CHECK(o.line.index == 3);
    CHECK(o.line.what == kind::delivered);
    CHECK(o.line.status == "2.0.0");
    CHECK(o.reply == &ok.response);
    CHECK(o.phase == bounce::reply_phase::data);

    auto unknown = answered(
        smtp::rcpt_outcome::permanent, 550, "5.1.1", "no such user", smtp::client_stage::rcpt
    );
    o = queue::decide_outcome(0, &unknown, facts);
    CHECK(o.line.what == kind::bounced);
    CHECK(o.line.status == "5.1.1");
    CHECK(o.line.reply == "550 5.1.1 no such user");
    CHECK(o.phase == bounce::reply_phase::rcpt);

    // Without an enhanced code: the class's generic status.
    auto busy = answered(smtp::rcpt_outcome::transient, 421, "", "busy", smtp::client_stage::mail);
    o = queue::decide_outcome(0, &busy, facts);
    CHECK(o.line.what == kind::deferred);
    CHECK(o.line.status == "4.0.0");
    CHECK(o.phase == bounce::reply_phase::other);
    auto refused = answered(smtp::rcpt_outcome::permanent, 554, "", "no", smtp::client_stage::data);
    CHECK(queue::decide_outcome(0, &refused, facts).line.status == "5.0.0");
}

TEST_CASE("no reply: suppression, a failed resolution, shaping or nothing at all say why") {
    auto facts = fresh();
    facts.suppressed = "on the suppression list (hard bounce)";
    auto o = queue::decide_outcome(0, nullptr, facts);
    CHECK(o.line.what == kind::bounced);
    CHECK(o.line.status == "5.1.1");
    CHECK(o.line.reply == "not sent: on the suppression list (hard bounce)");
    CHECK(o.reply == nullptr);

    facts = fresh();
    queue::route_failure nxdomain{"5.1.2", "no such domain", true};
    facts.route = &nxdomain;
    o = queue::decide_outcome(0, nullptr, facts);
    CHECK(o.line.what == kind::bounced);
    CHECK(o.line.reply == "550 5.1.2 no such domain");
    CHECK(o.line.status == "5.1.2");
    queue::route_failure servfail{"4.4.3", "DNS timeout", false};
    facts.route = &servfail;
    o = queue::decide_outcome(0, nullptr, facts);
    CHECK(o.line.what == kind::deferred);
    CHECK(o.line.reply == "451 4.4.3 DNS timeout");

    facts = fresh();
    facts.held_back = "warming cap reached";
    o = queue::decide_outcome(0, nullptr, facts);
    CHECK(o.line.what == kind::deferred);
    CHECK(o.line.status == "4.4.5");
    CHECK(o.line.reply == "451 4.4.5 held back: warming cap reached");

    o = queue::decide_outcome(0, nullptr, fresh());
    CHECK(o.line.what == kind::deferred);
    CHECK(o.line.status == "4.3.0");
}

TEST_CASE(
    "a deferral past the message's lifetime is a 4.4.7 bounce that says nothing of the address"
) {
    auto facts = fresh();
    facts.now = facts.arrived + 5 * 24 * 3600 + 1;
    auto greylisted = answered(
        smtp::rcpt_outcome::transient, 451, "4.7.1", "greylisted", smtp::client_stage::rcpt
    );
    auto o = queue::decide_outcome(0, &greylisted, facts);
    CHECK(o.line.what == kind::bounced);
    CHECK(o.line.status == "4.4.7");
    CHECK(o.line.reply.find("message expired after") == 0);
    CHECK(o.line.reply.find("451 4.7.1 greylisted") != std::string::npos);
    CHECK(o.reply == nullptr);  // not fed to the classifier as the address's fault
    CHECK(o.phase == bounce::reply_phase::other);

    // A final answer stands, however old the message.
    auto ok =
        answered(smtp::rcpt_outcome::delivered, 250, "2.0.0", "ok", smtp::client_stage::data_end);
    CHECK(queue::decide_outcome(0, &ok, facts).line.what == kind::delivered);
    // One second before the end it is still a deferral.
    facts.now = facts.arrived + 5 * 24 * 3600 - 1;
    CHECK(queue::decide_outcome(0, &greylisted, facts).line.what == kind::deferred);
}
