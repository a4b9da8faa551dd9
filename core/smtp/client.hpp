// The client side of SMTP as a pure state machine: replies in, commands and requests out, and a
// result per recipient. The delivery loop does the I/O (core/delivery/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/smtp/envelope.hpp"
#include "core/smtp/reply.hpp"

namespace outpost::smtp {

// Assembles reply lines (CRLF already removed) into replies (RFC 5321 §4.2). The enhanced status
// code (RFC 3463) is taken from the first line when it starts with one whose class matches the
// reply code, and stripped from every line that repeats it.
class reply_reader {
public:
    enum class status { more, complete, malformed };

    explicit reply_reader(std::size_t max_lines = 100) : max_lines_(max_lines) {}

    // malformed: no three-digit code, a code outside 200..599, a separator other than ' ' or
    // '-', a continuation line with a different code (§4.2.1 forbids it), or over max_lines.
    // After complete, take() hands out the reply and the reader starts over.
    status feed(std::string_view line);
    reply take();

private:
    std::size_t max_lines_;
    std::vector<std::string> lines_;
    int code_ = 0;
    reply done_;
};

// What the server's EHLO reply offers (RFC 5321 §4.1.1.1 and the extensions' RFCs).
struct extensions {
    bool esmtp = false;                  // EHLO was accepted (false after the HELO fallback)
    bool pipelining = false;             // RFC 2920
    bool starttls = false;               // RFC 3207
    bool smtputf8 = false;               // RFC 6531
    bool eight_bit_mime = false;         // RFC 6152
    bool enhanced_status_codes = false;  // RFC 2034
    bool dsn = false;                    // RFC 3461
    bool size = false;                   // RFC 1870
    std::uint64_t max_size = 0;          // SIZE's argument; 0 means no fixed limit

    // Reads the lines after the first of a 250 EHLO reply; unknown keywords are ignored.
    static extensions parse(const reply& ehlo);
};

// One message to send: the envelope as queued, minus what only the receiving side needs.
struct outbound_message {
    std::string reverse_path;  // without brackets; empty for the null sender
    std::vector<recipient> recipients;
    body_type body = body_type::unspecified;
    bool smtputf8 = false;  // the message or an address needs SMTPUTF8 (RFC 6531)
    dsn_ret ret = dsn_ret::unspecified;
    std::string envid;       // xtext-decoded; empty when absent
    std::uint64_t size = 0;  // bytes as sent (before dot-stuffing), for SIZE=
};

enum class rcpt_outcome {
    delivered,  // the server took responsibility (250 after the data dot)
    transient,  // try again later (4xx, a lost connection, a protocol error)
    permanent   // bounce (5xx)
};

const char* to_string(rcpt_outcome o);

// Which reply the client waits for; the driver picks its read timeout from it (RFC 5321
// §4.5.3.2: greeting 5 min, MAIL 5 min, RCPT 5 min, DATA 2 min, data dot 10 min).
enum class client_stage {
    greeting,
    ehlo,
    helo,
    starttls,
    mail,
    rcpt,
    data,
    data_end,
    rset,
    quit,
    none
};

struct recipient_result {
    std::string address;
    rcpt_outcome outcome = rcpt_outcome::transient;
    reply response;  // the server's reply, or a local one ("451 4.4.2 connection lost")
    // The command the reply answered (mail, rcpt, data, data_end); none for local results. A
    // "no such user" at RCPT means a bad mailbox, after DATA a content filter.
    client_stage stage = client_stage::none;
};

struct client_options {
    std::string ehlo_domain;
    bool starttls = true;      // use STARTTLS when the server offers it
    bool require_tls = false;  // no transaction without TLS: fail temporarily when not offered
    bool tls_active = false;   // the connection is already TLS (implicit TLS)
};

class client {
public:
    // Write these bytes (one command, or a pipelined group of them) to the server.
    struct send {
        std::string bytes;
    };

    // Do the TLS handshake now, then call on_tls_started() (or on_connection_lost()).
    struct start_tls {};

    // Write the message, dot-stuffed (see dot_stuffer), then ".\r\n"; read the next reply.
    struct send_body {};

    // The session is idle: call start() with a message, or quit().
    struct ready {};

    // A message's transaction ended; results has one entry per recipient, in envelope order.
    struct transaction_done {
        std::vector<recipient_result> results;
    };

    // The session is over: close the connection. failure() says why, when it failed.
    struct close {};

    using action = std::variant<send, start_tls, send_body, ready, transaction_done, close>;

    // Why a session ended before it could carry a transaction (greeting, EHLO/HELO, STARTTLS or
    // a TLS requirement); a session that ended after QUIT has none.
    struct session_failure {
        client_stage stage = client_stage::none;
        reply response;
    };

    explicit client(client_options options);

    // A complete reply from the server (see reply_reader). Replies that come when none is
    // expected end the session with a protocol error.
    std::vector<action> on_reply(const reply& r);

    // The handshake succeeded: the client says EHLO again, as RFC 3207 §4.2 requires.
    std::vector<action> on_tls_started();

    // The connection failed (reset, timeout, TLS handshake, malformed reply): recipients of the
    // transaction in progress get a transient result with why; nothing more to send. The
    // result of recipients whose data dot was sent is unknown, so they are transient too (a
    // retry may deliver twice, which RFC 5321 §6.1 accepts over losing mail).
    std::vector<action> on_connection_lost(std::string_view why);

    // Starts a transaction; only when idle (after ready or transaction_done). A message that
    // needs SMTPUTF8 at a server without it fails permanently with 5.6.7 (RFC 6531 §3.5), and
    // one over the server's SIZE with 5.3.4 (RFC 1870 §6), both without sending a command.
    std::vector<action> start(outbound_message message);

    // Says QUIT (when idle); close follows its reply.
    std::vector<action> quit();

    bool idle() const { return state_ == state::idle; }

    bool closed() const { return state_ == state::closed; }

    client_stage waiting_for() const;

    const extensions& server_extensions() const { return extensions_; }

    bool tls_active() const { return options_.tls_active; }

    const std::optional<session_failure>& failure() const { return failure_; }

    // The number of transactions that reached the data dot on this connection.
    std::size_t messages_sent() const { return messages_sent_; }

private:
    enum class state { greeting, ehlo, helo, starttls, idle, transaction, rset, quit, closed };

    // A reply the client waits for, in order (several at a time when pipelining).
    enum class expect { mail, rcpt, data, data_end, abort_dot };

    std::vector<action> after_hello(const reply& r, bool esmtp);
    std::vector<action> on_transaction_reply(const reply& r);
    std::vector<action> end_session(client_stage stage, const reply& r);
    std::vector<action> server_closing(const reply& r);
    std::vector<action> finish_transaction(std::vector<action> out);
    std::vector<action> fail_all(const reply& r, rcpt_outcome o);
    void next_rcpt(std::vector<action>& out);
    std::string mail_command() const;
    std::string rcpt_command(const recipient& rc) const;
    std::string hello(bool esmtp) const;

    client_options options_;
    state state_ = state::greeting;
    bool tls_pending_ = false;  // STARTTLS got 220; the handshake is the driver's
    extensions extensions_;
    std::optional<session_failure> failure_;
    std::size_t messages_sent_ = 0;

    // The transaction in progress.
    outbound_message message_;
    std::vector<recipient_result> results_;
    std::vector<bool> accepted_;
    std::deque<expect> expected_;
    std::size_t rcpts_sent_ = 0;      // RCPT commands sent so far
    std::size_t rcpts_answered_ = 0;  // RCPT replies read so far
    std::optional<reply> mail_failed_;
    bool data_sent_ = false;  // the body went out, so the final reply decides
};

// Dot-stuffing (RFC 5321 §4.5.2) as a stream: bytes in, bytes for the wire out, across chunk
// boundaries. Bare LF and CR are passed through as they are: the spool holds CRLF text.
class dot_stuffer {
public:
    // Appends the stuffed form of chunk to out.
    void put(std::string_view chunk, std::string& out);
    // Appends the end of data: CRLF first when the message did not end with one, then ".\r\n".
    void finish(std::string& out);

private:
    bool line_start_ = true;
    char last_ = '\n';
    bool empty_ = true;
};

// Dot-stuffs a whole message and adds the terminator: for tests and small messages.
std::string dot_stuff(std::string_view message);

}  // namespace outpost::smtp
