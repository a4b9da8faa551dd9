#include "core/smtp/session.hpp"

#include <optional>

#include <doctest/doctest.h>

using namespace outpost::smtp;

namespace {

std::optional<reply> first_reply(const std::vector<action>& actions) {
    for (const auto& a : actions)
        if (const auto* r = std::get_if<send_reply>(&a))
            return r->r;
    return std::nullopt;
}

bool closes(const std::vector<action>& actions) {
    for (const auto& a : actions)
        if (std::holds_alternative<close_connection>(a))
            return true;
    return false;
}

// A trusted session with one recipient and a message handed out for spooling.
session with_message_pending() {
    session_options o;
    o.client_trusted = true;
    session s(o);
    s.greet();
    auto r = s.on_input(
        "HELO c\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\nhi\r\n.\r\n"
    );
    REQUIRE(s.waiting());
    return s;
}

}  // namespace

TEST_CASE("the greeting has no enhanced code and names the host") {
    session_options o;
    o.hostname = "mx.test";
    session s(o);
    auto r = first_reply(s.greet());
    REQUIRE(r);
    CHECK(r->code == 220);
    CHECK(r->enhanced.empty());
    CHECK(r->wire() == "220 mx.test ESMTP Outpost\r\n");
}

TEST_CASE("input after an accepted message waits until the spool answers") {
    auto s = with_message_pending();
    auto r = s.on_input("NOOP\r\n");
    CHECK(r.consumed == 0);
    CHECK(r.actions.empty());
}

TEST_CASE("each spool outcome maps to its reply") {
    struct row {
        message_result::kind kind;
        int code;
        const char* enhanced;
    };

    for (auto [kind, code, enhanced] :
         {row{message_result::kind::queued, 250, "2.0.0"},
          row{message_result::kind::temporary_failure, 451, "4.3.0"},
          row{message_result::kind::no_space, 452, "4.3.1"},
          row{message_result::kind::rejected, 550, "5.7.1"}}) {
        auto s = with_message_pending();
        auto r = first_reply(s.on_message_result({kind, "ABC", {}}));
        REQUIRE(r);
        CHECK(r->code == code);
        CHECK(r->enhanced == enhanced);
        CHECK_FALSE(s.waiting());
        // The transaction is over either way: a new one needs MAIL.
        auto next = first_reply(s.on_input("RCPT TO:<c@y.example>\r\n").actions);
        REQUIRE(next);
        CHECK(next->code == 503);
    }
}

TEST_CASE("a timeout and a shutdown both close with 421") {
    session s({});
    s.greet();
    auto t = s.on_timeout();
    CHECK(first_reply(t)->code == 421);
    CHECK(first_reply(t)->enhanced == "4.4.2");
    CHECK(closes(t));
    CHECK(s.closed());

    session d({});
    d.greet();
    auto sd = d.on_shutdown();
    CHECK(first_reply(sd)->enhanced == "4.3.2");
    CHECK(closes(sd));
}

TEST_CASE("an endless command line is dropped, not buffered") {
    session s({});
    s.greet();
    std::string junk(10000, 'A');
    auto r = s.on_input(junk);
    CHECK(r.consumed == junk.size());
    auto reply = first_reply(s.on_input("\r\n").actions);
    REQUIRE(reply);
    CHECK(reply->code == 500);
}

TEST_CASE("the envelope carries what the session learned") {
    session_options o;
    o.client_trusted = true;
    o.client_address = "127.0.0.1";
    session s(o);
    s.greet();
    auto r = s.on_input(
        "EHLO client.test\r\nMAIL FROM:<a@x.example> RET=HDRS ENVID=e1\r\n"
        "RCPT TO:<b@y.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b@y.example\r\nDATA\r\nhi\r\n.\r\n"
    );
    const accept_message* m = nullptr;
    for (const auto& a : r.actions)
        if (const auto* p = std::get_if<accept_message>(&a))
            m = p;
    REQUIRE(m);
    CHECK(m->env.reverse_path == "a@x.example");
    CHECK(m->env.helo == "client.test");
    CHECK(m->env.envid == "e1");
    CHECK(m->env.client_address == "127.0.0.1");
    REQUIRE(m->env.recipients.size() == 1);
    CHECK(m->env.recipients[0].orcpt == "rfc822;b@y.example");
    CHECK(m->content == "hi\r\n");
}
