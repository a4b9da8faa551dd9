// The server side of one SMTP connection as a pure state machine: bytes and results in, actions
// out.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/smtp/command.hpp"
#include "core/smtp/data_decoder.hpp"
#include "core/smtp/envelope.hpp"
#include "core/smtp/reply.hpp"

namespace outpost::smtp {

enum class auth_mode { none, optional, required };

struct session_options {
    std::string hostname = "localhost";
    std::string client_address;       // IP text, for the envelope
    bool client_trusted = false;      // in relay.allowed_networks: may relay without AUTH
    std::string priority = "normal";  // the listener's default priority for mail submitted here
    bool starttls_available = false;  // listener tls = starttls
    bool tls_active = false;          // listener tls = implicit (or after STARTTLS)
    auth_mode auth = auth_mode::optional;
    std::string bounce_domain;   // anyone may send to this domain, without AUTH
    std::string report_address;  // anyone may send DMARC reports here, without AUTH
    std::uint64_t max_message_size = 25ull << 20;
    unsigned max_recipients = 1000;
    std::size_t max_line_length = 998;
    std::size_t max_command_length = 2048;
    unsigned max_errors = 10;
    // Commands in one session before 421: a session cannot be kept forever by commands alone.
    unsigned max_commands = 100000;
    // NOOP, RSET, VRFY and HELP past this many (since the last accepted message) count as errors,
    // as Postfix's smtpd_junk_command_limit does.
    unsigned max_junk_commands = 100;
    // Says why a recipient must not be mailed (the suppression list), or nullopt. Called at
    // RCPT; recipients at the bounce domain are never checked.
    std::function<std::optional<std::string>(const std::string& address)> suppressed;
    // True when the spool is below its free-space reserve: MAIL and RCPT get 452 4.3.1 before
    // the client sends a message that could not be stored (as Postfix does).
    std::function<bool()> storage_low;
    // Told the reason of each refused RCPT (relay, suppressed, syntax, storage, limit, policy,
    // sequence), for metrics.
    std::function<void(std::string_view reason)> on_rcpt_refused;
};

// Actions the connection loop performs, in order.
struct send_reply {
    reply r;
};

// Flush pending replies, drop any buffered input (RFC 3207 §4.2: commands pipelined after STARTTLS
// are discarded), run the TLS handshake, then call on_tls_started().
struct start_tls {};

// Verify credentials off the I/O thread, then call on_auth_result(). Wipe the password after use.
struct authenticate {
    std::string mechanism;
    std::string user;
    std::string password;
};

// Make the message durable (sign, spool), then call on_message_result().
struct accept_message {
    envelope env;
    std::string content;
};

struct close_connection {};

using action = std::variant<send_reply, start_tls, authenticate, accept_message, close_connection>;

enum class auth_result { success, failure, locked_out, temporary_failure };

// What became of a message handed out with accept_message.
struct message_result {
    enum class kind { queued, temporary_failure, no_space, rejected } outcome = kind::queued;
    std::string queue_id;  // when queued
    std::string text;      // for rejected: the reason given to the client
};

struct input_result {
    std::size_t consumed = 0;
    std::vector<action> actions;
};

class session {
public:
    explicit session(session_options options);

    std::vector<action> greet();

    // Consumes as much buffered input as the protocol allows and returns what to do. Stops early
    // when an action must complete first (STARTTLS, AUTH, a message to spool), so input after
    // that point stays in the caller's buffer. consumed == 0 with no actions means "need more".
    input_result on_input(std::string_view bytes);

    std::vector<action> on_tls_started(std::string tls_description);
    std::vector<action> on_auth_result(auth_result r);
    std::vector<action> on_message_result(const message_result& r);
    // The client sent nothing for too long.
    std::vector<action> on_timeout();
    // Every connection is taken and this idle session's address holds the most: 421 4.7.0, so a
    // client from another address can be served.
    std::vector<action> on_overload();
    // The server is shutting down and this session ran out of grace.
    std::vector<action> on_shutdown();

    bool closed() const { return closed_; }

    // True while an action's result is awaited; no input is consumed until it arrives.
    bool waiting() const { return waiting_ != wait::none; }

    // True while message content (DATA or BDAT) is being received: the data timeout applies.
    bool receiving_content() const { return mode_ == mode::data || mode_ == mode::bdat; }

    const std::string& auth_user() const { return auth_user_; }

private:
    enum class mode { command, auth_line, data, bdat, discard_line };
    enum class wait { none, tls, auth, message };

    void handle_line(std::string_view line, std::vector<action>& out);
    void dispatch(const command& cmd, std::vector<action>& out);
    void rcpt_reply(std::string_view args, std::vector<action>& out);
    // One more error; at max_errors, 421 and the session closes.
    void count_error(std::vector<action>& out);
    void handle_auth_line(std::string_view line, std::vector<action>& out);

    void ehlo(std::string_view args, bool extended, std::vector<action>& out);
    void mail(std::string_view args, std::vector<action>& out);
    void rcpt(std::string_view args, std::vector<action>& out);
    void data(std::string_view args, std::vector<action>& out);
    void bdat(std::string_view args, std::vector<action>& out);
    void starttls(std::string_view args, std::vector<action>& out);
    void auth(std::string_view args, std::vector<action>& out);

    void finish_content(data_problem problem, std::vector<action>& out);
    void respond(std::vector<action>& out, int code, std::string_view enhanced, std::string text);
    // A reply caused by a client error; too many of them end the session.
    void error(std::vector<action>& out, int code, std::string_view enhanced, std::string text);
    void reset_transaction();
    bool may_relay() const;
    bool auth_offered() const;
    std::string protocol() const;

    session_options options_;
    mode mode_ = mode::command;
    wait waiting_ = wait::none;
    bool closed_ = false;
    unsigned errors_ = 0;
    unsigned commands_ = 0;
    unsigned junk_ = 0;

    // Per session (reset by STARTTLS).
    bool greeted_ = false;   // EHLO or HELO seen
    bool extended_ = false;  // EHLO rather than HELO
    std::string helo_;
    std::string auth_user_;
    std::string tls_;

    // AUTH exchange in progress.
    std::string auth_mechanism_;
    std::string auth_login_user_;
    int auth_step_ = 0;

    // Mail transaction.
    bool in_transaction_ = false;
    envelope envelope_;
    std::string content_;
    std::optional<data_decoder> decoder_;
    std::optional<chunk_checker> chunks_;
    std::uint64_t bdat_remaining_ = 0;
    std::uint64_t bdat_chunk_ = 0;  // the size the current BDAT announced
    bool bdat_last_ = false;
    bool bdat_failed_ = false;  // the chunk being read is discarded; its reply is an error
    std::optional<smtp::reply> bdat_error_;
    bool used_data_ = false;
};

}  // namespace outpost::smtp
