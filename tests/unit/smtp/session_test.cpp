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

namespace {

// A trusted EHLO session; the replies to each line of input, in order.
struct talk {
    session s;

    talk() : s(trusted()) {
        s.greet();
        s.on_input("EHLO c.example\r\n");
    }

    static session_options trusted() {
        session_options o;
        o.client_trusted = true;
        return o;
    }

    std::vector<reply> say(std::string_view bytes) {
        std::vector<reply> out;
        for (const auto& a : s.on_input(bytes).actions)
            if (const auto* r = std::get_if<send_reply>(&a))
                out.push_back(r->r);
        return out;
    }
};

bool printable(const reply& r) {
    for (char c : r.wire())
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\r' && c != '\n') ||
            static_cast<unsigned char>(c) >= 0x7f)
            return false;
    return true;
}

}  // namespace

TEST_CASE("client bytes are never echoed raw: controls, DEL and 8-bit become \\xNN") {
    talk t;
    auto r = t.say("MAIL FROM:<a@x.example> X\x1b[31MRED=1\x7f\xff\b\r\n");
    REQUIRE(r.size() == 1);
    CHECK(r[0].code == 555);
    CHECK(printable(r[0]));
    CHECK(r[0].text.find("\\x1b[31MRED") != std::string::npos);
    session_options closed;
    session stranger(closed);
    stranger.greet();
    stranger.on_input("EHLO c\r\nMAIL FROM:<a@x.example>\r\n");
    auto denied = stranger.on_input("RCPT TO:<\x01\xc3(@y.example>\r\n").actions;
    auto d = first_reply(denied);
    REQUIRE(d);
    CHECK(printable(*d));
}

TEST_CASE("SMTPUTF8 addresses must be well-formed UTF-8: 553 5.6.7 otherwise") {
    talk t;
    auto bad = t.say("MAIL FROM:<\xff\xfe@example.com> SMTPUTF8\r\n");
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].code == 553);
    CHECK(bad[0].enhanced == "5.6.7");
    auto overlong = t.say("MAIL FROM:<\xc0\xafx@example.com> SMTPUTF8\r\n");
    CHECK(overlong[0].code == 553);
    auto good = t.say("MAIL FROM:<j\xc3\xb6rg@example.com> SMTPUTF8\r\n");
    CHECK(good[0].code == 250);
    auto rcpt = t.say("RCPT TO:<\xed\xa0\x80@example.net>\r\n");  // a UTF-16 surrogate
    CHECK(rcpt[0].code == 553);
    CHECK(rcpt[0].enhanced == "5.6.7");
    CHECK(t.say("RCPT TO:<m\xc3\xbcller@example.net>\r\n")[0].code == 250);
}

TEST_CASE("RCPT TO:<postmaster> is a policy refusal, never a syntax error") {
    for (const char* spelling : {"<postmaster>", "<Postmaster>", "<POSTMASTER>"}) {
        talk t;
        t.say("MAIL FROM:<a@x.example>\r\n");
        auto r = t.say(std::string("RCPT TO:") + spelling + "\r\n");
        REQUIRE(r.size() == 1);
        CHECK(r[0].code == 550);
        CHECK(r[0].enhanced == "5.7.1");
    }
    // postmaster at a domain is an ordinary recipient.
    talk t;
    t.say("MAIL FROM:<a@x.example>\r\n");
    CHECK(t.say("RCPT TO:<postmaster@example.net>\r\n")[0].code == 250);
}

TEST_CASE("BDAT's interim reply counts the whole chunk, however it arrives") {
    talk t;
    t.say("MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\n");
    std::string chunk(50000, 'x');
    CHECK(t.say("BDAT 50000\r\n").empty());
    std::vector<reply> replies;
    for (std::size_t at = 0; at < chunk.size(); at += 16384) {
        auto r = t.say(std::string_view(chunk).substr(at, 16384));
        replies.insert(replies.end(), r.begin(), r.end());
    }
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].code == 250);
    CHECK(replies[0].text == "50000 octets received");
}

TEST_CASE("below the spool reserve, MAIL and RCPT get 452 4.3.1 before any data is sent") {
    bool low = true;
    session_options o;
    o.client_trusted = true;
    o.storage_low = [&low] { return low; };
    session s(o);
    s.greet();
    s.on_input("EHLO c.example\r\n");
    auto mail = first_reply(s.on_input("MAIL FROM:<a@x.example>\r\n").actions);
    REQUIRE(mail);
    CHECK(mail->code == 452);
    CHECK(mail->enhanced == "4.3.1");
    low = false;
    CHECK(first_reply(s.on_input("MAIL FROM:<a@x.example>\r\n").actions)->code == 250);
    low = true;  // the disk filled between MAIL and RCPT
    auto rcpt = first_reply(s.on_input("RCPT TO:<b@y.example>\r\n").actions);
    REQUIRE(rcpt);
    CHECK(rcpt->code == 452);
    CHECK(rcpt->enhanced == "4.3.1");
}

TEST_CASE("junk commands past max_junk_commands count as errors; an accepted message resets them") {
    session_options o;
    o.client_trusted = true;
    o.max_junk_commands = 5;
    o.max_errors = 3;
    session s(o);
    s.greet();
    s.on_input("EHLO c.example\r\n");
    std::vector<int> codes;
    for (int i = 0; i < 8 && !s.closed(); ++i)
        for (const auto& a : s.on_input("NOOP\r\n").actions)
            if (const auto* r = std::get_if<send_reply>(&a))
                codes.push_back(r->r.code);
    // Five free, then three counted: the third error closes the session.
    CHECK(codes == std::vector<int>{250, 250, 250, 250, 250, 250, 250, 250, 421});
    CHECK(s.closed());
}

TEST_CASE("a session ends with 421 after max_commands commands") {
    session_options o;
    o.client_trusted = true;
    o.max_commands = 10;
    session s(o);
    s.greet();
    std::string many;
    for (int i = 0; i < 12; ++i)
        many += "EHLO c.example\r\n";
    auto actions = s.on_input(many).actions;
    std::optional<reply> last;
    for (const auto& a : actions)
        if (const auto* r = std::get_if<send_reply>(&a))
            last = r->r;
    REQUIRE(last);
    CHECK(last->code == 421);
    CHECK(last->text.find("too many commands") != std::string::npos);
    CHECK(closes(actions));
}

TEST_CASE("each refused RCPT is reported with its reason") {
    std::vector<std::string> reasons;
    session_options o;
    o.bounce_domain = "bounces.example";
    o.suppressed = [](const std::string& a) -> std::optional<std::string> {
        if (a == "gone@y.example")
            return "on the list";
        return std::nullopt;
    };
    o.on_rcpt_refused = [&](std::string_view r) { reasons.emplace_back(r); };
    session s(o);
    s.greet();
    s.on_input("EHLO c.example\r\nRCPT TO:<a@y.example>\r\nMAIL FROM:<a@x.example>\r\n");
    s.on_input("RCPT TO:<bad address>\r\nRCPT TO:<a@y.example>\r\nRCPT TO:<postmaster>\r\n");
    CHECK(reasons == std::vector<std::string>{"sequence", "syntax", "relay", "policy"});
    session_options trusted = o;
    trusted.client_trusted = true;
    reasons.clear();
    session t(trusted);
    t.greet();
    t.on_input("EHLO c.example\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<gone@y.example>\r\n");
    t.on_input("RCPT TO:<ok@y.example>\r\n");
    CHECK(reasons == std::vector<std::string>{"suppressed"});
}

TEST_CASE("ENVID and ORCPT that decode to CR, LF, NUL or 8-bit are refused: a DSN repeats them") {
    talk t;
    for (const char* envid : {"e+0D+0A.+0D+0AMAIL", "e+0D.+0D", "e+00", "e+7F", "e+C3+A9"}) {
        auto r = t.say(std::string("MAIL FROM:<a@x.example> ENVID=") + envid + "\r\n");
        REQUIRE(r.size() == 1);
        CHECK_MESSAGE(r[0].code == 501, envid);
        CHECK(r[0].enhanced == "5.5.4");
    }
    auto ok = t.say("MAIL FROM:<a@x.example> ENVID=id+2B1+20x\r\n");  // '+' and a space: fine
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].code == 250);
    for (const char* orcpt : {"rfc822;a+0D+0ARCPT@y", "rfc822;a+0A@y", "rfc822;a+00@y"}) {
        auto r = t.say(std::string("RCPT TO:<b@y.example> ORCPT=") + orcpt + "\r\n");
        REQUIRE(r.size() == 1);
        CHECK_MESSAGE(r[0].code == 501, orcpt);
    }
    auto rcpt = t.say("RCPT TO:<b@y.example> ORCPT=rfc822;+22b+20c+22@y.example\r\n");
    REQUIRE(rcpt.size() == 1);
    CHECK(rcpt[0].code == 250);
}

TEST_CASE("an address literal must be an IP address or a tagged literal (RFC 5321 §4.1.3)") {
    talk t;
    t.say("MAIL FROM:<a@x.example>\r\n");
    for (const char* ok :
         {"<v@[127.0.0.1]>", "<v@[IPv6:::1]>", "<v@[ipv6:2001:db8::1]>", "<v@[x-tag:opaque]>"}) {
        auto r = t.say(std::string("RCPT TO:") + ok + "\r\n");
        REQUIRE(r.size() == 1);
        CHECK_MESSAGE(r[0].code == 250, ok);
    }
    for (const char* bad :
         {"<v@[bounces.relay.test]>", "<v@[300.1.1.1]>", "<v@[IPv6:zz]>", "<v@[tag-:x]>",
          "<v@[tag:]>", "<v@[:x]>"}) {
        auto r = t.say(std::string("RCPT TO:") + bad + "\r\n");
        REQUIRE(r.size() == 1);
        CHECK_MESSAGE(r[0].code == 501, bad);
        CHECK(r[0].enhanced == "5.1.3");
    }
}
