// smtp::client driven by scripted server replies: what it sends, what it asks of the driver,
// and the result it gives each recipient.
#include "core/smtp/client.hpp"

#include <doctest/doctest.h>

using namespace outpost::smtp;

namespace {

// The client and everything it asked for so far.
struct harness {
    client c;
    std::string sent;  // bytes of every send action, in order
    int bodies = 0;    // send_body actions
    int tls = 0;       // start_tls actions
    int readies = 0;
    bool closed = false;
    std::vector<std::vector<recipient_result>> done;

    explicit harness(client_options o = options()) : c(std::move(o)) {}

    static client_options options() {
        client_options o;
        o.ehlo_domain = "mta.example";
        return o;
    }

    void take(const std::vector<client::action>& actions) {
        for (const auto& a : actions) {
            if (const auto* s = std::get_if<client::send>(&a))
                sent += s->bytes;
            else if (std::holds_alternative<client::send_body>(a))
                ++bodies;
            else if (std::holds_alternative<client::start_tls>(a))
                ++tls;
            else if (std::holds_alternative<client::ready>(a))
                ++readies;
            else if (const auto* d = std::get_if<client::transaction_done>(&a))
                done.push_back(d->results);
            else if (std::holds_alternative<client::close>(a))
                closed = true;
        }
    }

    // Feeds the server's lines (CRLF-separated) as replies; returns what was sent meanwhile.
    std::string server(std::string_view text) {
        auto before = sent.size();
        reply_reader reader;
        while (!text.empty()) {
            auto end = text.find("\r\n");
            auto line = text.substr(0, end);
            text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 2);
            auto st = reader.feed(line);
            REQUIRE(st != reply_reader::status::malformed);
            if (st == reply_reader::status::complete)
                take(c.on_reply(reader.take()));
        }
        return sent.substr(before);
    }

    std::string start(outbound_message m) {
        auto before = sent.size();
        take(c.start(std::move(m)));
        return sent.substr(before);
    }
};

constexpr const char* full_ehlo =
    "250-mx.example greets you\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n250 STARTTLS\r\n";

outbound_message two_recipients() {
    outbound_message m;
    m.reverse_path = "bounce@sender.example";
    m.recipients = {{"a@rcpt.example", 0, ""}, {"b@rcpt.example", 0, ""}};
    m.size = 100;
    return m;
}

// A client that has greeted a server with the given EHLO reply and is idle (no STARTTLS).
harness ready_with(const char* ehlo) {
    auto o = harness::options();
    o.starttls = false;
    harness h(o);
    h.server("220 mx.example ESMTP");
    h.server(ehlo);
    REQUIRE(h.c.idle());
    return h;
}

}  // namespace

TEST_CASE("reply reader joins multiline replies and takes the enhanced code") {
    reply_reader r;
    CHECK(r.feed("250-mx.example hello") == reply_reader::status::more);
    CHECK(r.feed("250-PIPELINING") == reply_reader::status::more);
    REQUIRE(r.feed("250 SIZE 10") == reply_reader::status::complete);
    auto a = r.take();
    CHECK(a.code == 250);
    CHECK(a.enhanced.empty());
    CHECK(a.text == "mx.example hello\nPIPELINING\nSIZE 10");

    CHECK(r.feed("550-5.1.1 no such user") == reply_reader::status::more);
    REQUIRE(r.feed("550 5.1.1 really") == reply_reader::status::complete);
    auto b = r.take();
    CHECK(b.enhanced == "5.1.1");
    CHECK(b.text == "no such user\nreally");
    CHECK(b.summary() == "550 5.1.1 no such user / really");

    REQUIRE(r.feed("451 5.1.1 class does not match") == reply_reader::status::complete);
    CHECK(r.take().enhanced.empty());
    REQUIRE(r.feed("354") == reply_reader::status::complete);
    CHECK(r.take().code == 354);
}

TEST_CASE("reply reader rejects malformed lines") {
    CHECK(reply_reader{}.feed("25") == reply_reader::status::malformed);
    CHECK(reply_reader{}.feed("2x0 ok") == reply_reader::status::malformed);
    CHECK(reply_reader{}.feed("250_ok") == reply_reader::status::malformed);
    CHECK(reply_reader{}.feed("100 early") == reply_reader::status::malformed);
    reply_reader r;
    CHECK(r.feed("250-first") == reply_reader::status::more);
    CHECK(r.feed("251 other code") == reply_reader::status::malformed);
    reply_reader limited(2);
    CHECK(limited.feed("250-a") == reply_reader::status::more);
    CHECK(limited.feed("250-b") == reply_reader::status::more);
    CHECK(limited.feed("250 c") == reply_reader::status::malformed);
}

TEST_CASE("EHLO extensions are read from the reply") {
    reply_reader r;
    std::string_view text = full_ehlo;
    reply ehlo;
    while (!text.empty()) {
        auto end = text.find("\r\n");
        if (r.feed(text.substr(0, end)) == reply_reader::status::complete)
            ehlo = r.take();
        text.remove_prefix(end + 2);
    }
    auto e = extensions::parse(ehlo);
    CHECK(e.esmtp);
    CHECK(e.pipelining);
    CHECK(e.size);
    CHECK(e.max_size == 1000);
    CHECK(e.eight_bit_mime);
    CHECK(e.enhanced_status_codes);
    CHECK(e.dsn);
    CHECK(e.smtputf8);
    CHECK(e.starttls);
    auto bare = extensions::parse(reply{250, "", "mx\nsize\nX-UNKNOWN"});
    CHECK(bare.size);
    CHECK(bare.max_size == 0);
    CHECK_FALSE(bare.pipelining);
}

TEST_CASE("client says EHLO after the greeting and is ready after the reply") {
    auto o = harness::options();
    o.starttls = false;
    harness h(o);
    CHECK(h.c.waiting_for() == client_stage::greeting);
    CHECK(h.server("220 mx.example ESMTP") == "EHLO mta.example\r\n");
    CHECK(h.c.waiting_for() == client_stage::ehlo);
    CHECK(h.server(full_ehlo).empty());
    CHECK(h.c.idle());
    CHECK(h.readies == 1);
    CHECK(h.c.server_extensions().pipelining);
    CHECK(h.c.waiting_for() == client_stage::none);
}

TEST_CASE("client pipelines MAIL, RCPT and DATA with SIZE, BODY, SMTPUTF8 and DSN parameters") {
    auto h = ready_with(full_ehlo);
    auto m = two_recipients();
    m.body = body_type::eight_bit_mime;
    m.smtputf8 = true;
    m.ret = dsn_ret::headers;
    m.envid = "id+1=x";
    m.recipients[0].notify = notify_failure | notify_delay;
    m.recipients[0].orcpt = "rfc822;a+x@rcpt.example";
    m.recipients[1].notify = notify_never;
    CHECK(
        h.start(m) ==
        "MAIL FROM:<bounce@sender.example> SIZE=100 BODY=8BITMIME SMTPUTF8 RET=HDRS "
        "ENVID=id+2B1+3Dx\r\n"
        "RCPT TO:<a@rcpt.example> NOTIFY=FAILURE,DELAY ORCPT=rfc822;a+2Bx@rcpt.example\r\n"
        "RCPT TO:<b@rcpt.example> NOTIFY=NEVER\r\n"
        "DATA\r\n"
    );
    CHECK(h.c.waiting_for() == client_stage::mail);
    CHECK(h.server("250 2.1.0 ok").empty());
    CHECK(h.c.waiting_for() == client_stage::rcpt);
    CHECK(h.server("250 2.1.5 ok\r\n550 5.1.1 no such user").empty());
    CHECK(h.c.waiting_for() == client_stage::data);
    h.server("354 go ahead");
    CHECK(h.bodies == 1);
    CHECK(h.c.waiting_for() == client_stage::data_end);
    CHECK(h.server("250 2.0.0 queued as X").empty());  // no RSET after a completed transaction
    REQUIRE(h.done.size() == 1);
    const auto& r = h.done[0];
    REQUIRE(r.size() == 2);
    CHECK(r[0].address == "a@rcpt.example");
    CHECK(r[0].outcome == rcpt_outcome::delivered);
    CHECK(r[0].response.summary() == "250 2.0.0 queued as X");
    CHECK(r[1].outcome == rcpt_outcome::permanent);
    CHECK(r[1].response.enhanced == "5.1.1");
    // Which command each reply answered: bounce classification reads "no such user" differently
    // at RCPT and after DATA.
    CHECK(r[0].stage == client_stage::data_end);
    CHECK(r[1].stage == client_stage::rcpt);
    CHECK(h.c.idle());
    CHECK(h.c.messages_sent() == 1);
}

TEST_CASE("client sends one command at a time without PIPELINING") {
    auto h = ready_with("250-mx.example\r\n250 DSN");
    CHECK(h.start(two_recipients()) == "MAIL FROM:<bounce@sender.example>\r\n");
    CHECK(h.server("250 ok") == "RCPT TO:<a@rcpt.example>\r\n");
    CHECK(h.server("451 4.3.0 try later") == "RCPT TO:<b@rcpt.example>\r\n");
    CHECK(h.server("250 ok") == "DATA\r\n");
    CHECK(h.bodies == 0);
    h.server("354 go");
    CHECK(h.bodies == 1);
    h.server("250 ok");
    REQUIRE(h.done.size() == 1);
    CHECK(h.done[0][0].outcome == rcpt_outcome::transient);
    CHECK(h.done[0][0].response.code == 451);
    CHECK(h.done[0][1].outcome == rcpt_outcome::delivered);
}

TEST_CASE("client leaves out DSN, SIZE and BODY parameters the server does not offer") {
    auto h = ready_with("250 mx.example");
    auto m = two_recipients();
    m.body = body_type::eight_bit_mime;
    m.ret = dsn_ret::full;
    m.envid = "x";
    m.recipients[0].notify = notify_success;
    m.recipients[0].orcpt = "rfc822;a@rcpt.example";
    CHECK(h.start(m) == "MAIL FROM:<bounce@sender.example>\r\n");
    CHECK(h.server("250 ok") == "RCPT TO:<a@rcpt.example>\r\n");
}

TEST_CASE("client falls back to HELO when EHLO is refused") {
    harness h;
    h.server("220 old.example SMTP");
    CHECK(h.server("502 5.5.2 command not recognized") == "HELO mta.example\r\n");
    CHECK(h.c.waiting_for() == client_stage::helo);
    h.server("250 old.example");
    CHECK(h.c.idle());
    CHECK_FALSE(h.c.server_extensions().esmtp);
    auto m = two_recipients();
    m.ret = dsn_ret::full;
    CHECK(h.start(m) == "MAIL FROM:<bounce@sender.example>\r\n");
}

TEST_CASE("client gives up when HELO is refused too") {
    harness h;
    h.server("220 old.example SMTP");
    h.server("500 what");
    CHECK(h.server("550 go away") == "QUIT\r\n");
    REQUIRE(h.c.failure());
    CHECK(h.c.failure()->stage == client_stage::helo);
    CHECK(h.c.failure()->response.code == 550);
    h.server("221 bye");
    CHECK(h.closed);
}

TEST_CASE("client upgrades to TLS when STARTTLS is offered and says EHLO again") {
    harness h;
    h.server("220 mx.example ESMTP");
    CHECK(h.server(full_ehlo) == "STARTTLS\r\n");
    CHECK(h.c.waiting_for() == client_stage::starttls);
    h.server("220 2.0.0 ready");
    CHECK(h.tls == 1);
    CHECK(h.c.waiting_for() == client_stage::none);
    h.take(h.c.on_tls_started());
    CHECK(h.sent.ends_with("EHLO mta.example\r\n"));
    CHECK(h.c.tls_active());
    CHECK_FALSE(h.c.server_extensions().pipelining);  // forgotten until the new EHLO reply
    h.server(full_ehlo);  // STARTTLS offered again, but TLS is on: no second STARTTLS
    CHECK(h.c.idle());
    CHECK(h.sent == "EHLO mta.example\r\nSTARTTLS\r\nEHLO mta.example\r\n");
}

TEST_CASE("opportunistic TLS goes on in the clear when STARTTLS is refused") {
    harness h;
    h.server("220 mx.example ESMTP");
    h.server(full_ehlo);
    h.server("454 4.7.0 TLS not available");
    CHECK(h.c.idle());
    CHECK_FALSE(h.c.tls_active());
    CHECK_FALSE(h.c.failure());
}

TEST_CASE("required TLS fails the session when STARTTLS is missing or refused") {
    auto o = harness::options();
    o.require_tls = true;
    harness missing(o);
    missing.server("220 mx.example ESMTP");
    CHECK(missing.server("250-mx.example\r\n250 PIPELINING") == "QUIT\r\n");
    REQUIRE(missing.c.failure());
    CHECK(missing.c.failure()->stage == client_stage::starttls);
    CHECK(missing.c.failure()->response.code == 421);
    CHECK(missing.c.failure()->response.enhanced == "4.7.0");
    // Our own words, not the receiver's: no slow-down may be read into them.
    CHECK(missing.c.failure()->response.local);

    harness refused(o);
    refused.server("220 mx.example ESMTP");
    refused.server(full_ehlo);
    CHECK(refused.server("454 4.7.0 no TLS today") == "QUIT\r\n");
    REQUIRE(refused.c.failure());
    CHECK(refused.c.failure()->response.code == 454);
    CHECK_FALSE(refused.c.failure()->response.local);
}

TEST_CASE("a 421 greeting closes at once and a 554 greeting says QUIT") {
    harness busy;
    CHECK(busy.server("421 4.3.2 busy").empty());
    CHECK(busy.closed);
    REQUIRE(busy.c.failure());
    CHECK(busy.c.failure()->stage == client_stage::greeting);
    CHECK(busy.c.failure()->response.transient());

    harness refused;
    CHECK(refused.server("554 5.7.1 no mail from you") == "QUIT\r\n");
    CHECK_FALSE(refused.closed);
    CHECK(refused.c.waiting_for() == client_stage::quit);
    refused.server("221 bye");
    CHECK(refused.closed);
    CHECK(refused.c.failure()->response.permanent());
}

TEST_CASE("all recipients refused: no DATA, then RSET so the connection can be reused") {
    auto h = ready_with("250 mx.example");
    h.start(two_recipients());
    h.server("250 ok");
    h.server("550 5.1.1 no");
    CHECK(h.server("552 5.2.2 full") == "RSET\r\n");
    REQUIRE(h.done.size() == 1);
    CHECK(h.done[0][0].outcome == rcpt_outcome::permanent);
    CHECK(h.done[0][1].response.code == 552);
    CHECK(h.c.waiting_for() == client_stage::rset);
    h.server("250 2.0.0 reset");
    CHECK(h.c.idle());
    CHECK(h.start(two_recipients()) == "MAIL FROM:<bounce@sender.example>\r\n");
}

TEST_CASE("pipelined: a refused MAIL decides every recipient and the replies are all read") {
    auto h = ready_with(full_ehlo);
    h.start(two_recipients());
    CHECK(h.server("451 4.7.1 greylisted").empty());
    CHECK(h.server("503 5.5.1 need MAIL").empty());
    CHECK(h.server("503 5.5.1 need MAIL").empty());
    CHECK(h.done.empty());
    CHECK(h.server("503 5.5.1 need RCPT") == "RSET\r\n");
    REQUIRE(h.done.size() == 1);
    for (const auto& r : h.done[0]) {
        CHECK(r.outcome == rcpt_outcome::transient);
        CHECK(r.response.code == 451);
    }
}

TEST_CASE("pipelined: DATA accepted after every RCPT failed sends an empty message") {
    auto h = ready_with(full_ehlo);
    h.start(two_recipients());
    h.server("250 ok\r\n550 no\r\n550 no");
    CHECK(h.server("354 go") == ".\r\n");
    CHECK(h.bodies == 0);
    CHECK(h.server("554 no valid recipients") == "RSET\r\n");
    REQUIRE(h.done.size() == 1);
    CHECK(h.done[0][0].outcome == rcpt_outcome::permanent);
    CHECK(h.done[0][0].response.code == 550);
}

TEST_CASE("a refused DATA or a failed data dot decides the accepted recipients") {
    auto h = ready_with(full_ehlo);
    h.start(two_recipients());
    CHECK(h.server("250 ok\r\n250 ok\r\n550 no\r\n554 5.3.0 no DATA today") == "RSET\r\n");
    CHECK(h.done[0][0].response.code == 554);
    CHECK(h.done[0][0].stage == client_stage::data);
    CHECK(h.done[0][1].response.code == 550);
    CHECK(h.done[0][1].stage == client_stage::rcpt);

    auto g = ready_with(full_ehlo);
    g.start(two_recipients());
    g.server("250 ok\r\n250 ok\r\n250 ok\r\n354 go");
    CHECK(g.server("451 4.3.0 disk trouble").empty());
    CHECK(g.done[0][0].outcome == rcpt_outcome::transient);
    CHECK(g.done[0][1].outcome == rcpt_outcome::transient);
    CHECK(g.c.idle());
}

TEST_CASE("a lost connection after the data dot leaves accepted recipients transient") {
    auto h = ready_with(full_ehlo);
    h.start(two_recipients());
    h.server("250 ok\r\n250 ok\r\n550 5.1.1 no\r\n354 go");
    h.take(h.c.on_connection_lost("end of stream"));
    CHECK(h.closed);
    REQUIRE(h.done.size() == 1);
    CHECK(h.done[0][0].outcome == rcpt_outcome::transient);
    CHECK(h.done[0][0].response.enhanced == "4.4.2");
    CHECK(h.done[0][1].outcome == rcpt_outcome::permanent);
}

TEST_CASE("a lost connection before the transaction is a session failure") {
    harness h;
    h.server("220 mx.example");
    h.take(h.c.on_connection_lost("reset"));
    CHECK(h.closed);
    REQUIRE(h.c.failure());
    CHECK(h.c.failure()->stage == client_stage::ehlo);
    CHECK(h.c.failure()->response.transient());
}

TEST_CASE("421 in the middle of a transaction ends it and the session") {
    auto h = ready_with(full_ehlo);
    h.start(two_recipients());
    h.server("250 ok\r\n250 ok");
    CHECK(h.server("421 4.4.2 timeout, closing").empty());
    CHECK(h.closed);
    REQUIRE(h.done.size() == 1);
    CHECK(h.done[0][0].response.code == 421);
    CHECK(h.done[0][1].outcome == rcpt_outcome::transient);
    // The 421 answered the second RCPT: the stage says so, so delivery can tell the throttles.
    CHECK(h.done[0][0].stage == client_stage::rcpt);
    CHECK(h.done[0][1].stage == client_stage::rcpt);
}

TEST_CASE("a 421 at MAIL, RCPT, DATA or after the dot carries the stage it answered") {
    struct step {
        const char* before;  // replies before the 421
        bool body;           // the body went out
        client_stage stage;
    };

    for (const auto& s :
         {step{"", false, client_stage::mail}, step{"250 ok", false, client_stage::rcpt},
          step{"250 ok\r\n250 ok\r\n250 ok", false, client_stage::data},
          step{"250 ok\r\n250 ok\r\n250 ok\r\n354 go", true, client_stage::data_end}}) {
        CAPTURE(s.before);
        auto h = ready_with(full_ehlo);
        h.start(two_recipients());
        if (*s.before)
            h.server(s.before);
        CHECK(h.bodies == (s.body ? 1 : 0));
        h.server("421 4.7.28 our system has detected an unusual rate of unsolicited mail");
        REQUIRE(h.done.size() == 1);
        for (const auto& r : h.done[0]) {
            CHECK(r.response.code == 421);
            CHECK(r.outcome == rcpt_outcome::transient);
            CHECK(r.stage == s.stage);
        }
        CHECK(h.closed);
    }
}

TEST_CASE("SMTPUTF8 and SIZE limits fail the message without a command") {
    auto h = ready_with("250-mx.example\r\n250 SIZE 50");
    auto m = two_recipients();
    m.smtputf8 = true;
    CHECK(h.start(m).empty());
    REQUIRE(h.done.size() == 1);
    CHECK(h.done[0][0].outcome == rcpt_outcome::permanent);
    CHECK(h.done[0][0].response.enhanced == "5.6.7");
    CHECK(h.c.idle());
    CHECK(h.start(two_recipients()).empty());  // 100 bytes > SIZE 50
    REQUIRE(h.done.size() == 2);
    CHECK(h.done[1][1].response.enhanced == "5.3.4");
}

TEST_CASE("one connection carries several messages and ends with QUIT") {
    auto h = ready_with(full_ehlo);
    for (int i = 0; i < 3; ++i) {
        h.start(two_recipients());
        h.server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok");
    }
    CHECK(h.c.messages_sent() == 3);
    CHECK(h.done.size() == 3);
    auto before = h.sent.size();
    h.take(h.c.quit());
    CHECK(h.sent.substr(before) == "QUIT\r\n");
    CHECK(h.c.waiting_for() == client_stage::quit);
    h.server("221 bye");
    CHECK(h.closed);
    CHECK_FALSE(h.c.failure());
}

TEST_CASE("a reply nobody asked for ends the session") {
    auto h = ready_with(full_ehlo);
    h.server("250 surprise");
    CHECK(h.closed);
}

TEST_CASE("dot-stuffing doubles leading dots and terminates the data") {
    CHECK(dot_stuff(".hidden\r\nline\r\n..\r\n") == "..hidden\r\nline\r\n...\r\n.\r\n");
    CHECK(dot_stuff("no final newline") == "no final newline\r\n.\r\n");
    CHECK(dot_stuff("") == ".\r\n");
    CHECK(dot_stuff("a.b\r\n.") == "a.b\r\n..\r\n.\r\n");
    // Across chunk boundaries: the dot starts a line only after the previous chunk's LF.
    dot_stuffer s;
    std::string out;
    s.put("x\r", out);
    s.put("\n.y\r\n", out);
    s.put(".", out);
    s.put("z\r\n", out);
    s.finish(out);
    CHECK(out == "x\r\n..y\r\n..z\r\n.\r\n");
}
