// The SMTP client state machine, the reply reader and dot-stuffing: pure, no I/O.
#include "core/smtp/client.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/smtp/command.hpp"
#include "core/util/text.hpp"

namespace outpost::smtp {

namespace {

bool digit(char c) {
    return c >= '0' && c <= '9';
}

// "X.Y.Z" at the start of text (RFC 3463 §2: class, 1-3 digit subject, 1-3 digit detail),
// followed by a space or the end; its length, or 0.
std::size_t enhanced_length(std::string_view text, int code) {
    if (text.size() < 5 || text[0] != static_cast<char>('0' + code / 100) || text[1] != '.')
        return 0;
    std::size_t i = 2;
    for (int part = 0; part < 2; ++part) {
        std::size_t start = i;
        while (i < text.size() && digit(text[i]) && i - start < 3)
            ++i;
        if (i == start)
            return 0;
        if (part == 0) {
            if (i >= text.size() || text[i] != '.')
                return 0;
            ++i;
        }
    }
    if (i < text.size() && text[i] != ' ')
        return 0;
    return i;
}

// Builds an action list; GCC 12 warns falsely (maybe-uninitialized) about variants in an
// initializer_list, so the vector is filled one element at a time.
template <class... A>
std::vector<client::action> make(A&&... a) {
    std::vector<client::action> out;
    out.reserve(sizeof...(A));
    (out.emplace_back(std::forward<A>(a)), ...);
    return out;
}

reply local_reply(int code, std::string enhanced, std::string text) {
    return reply{code, std::move(enhanced), std::move(text), true};
}

rcpt_outcome outcome_of(const reply& r) {
    if (r.code >= 200 && r.code < 300)
        return rcpt_outcome::delivered;
    return r.permanent() ? rcpt_outcome::permanent : rcpt_outcome::transient;
}

}  // namespace

reply_reader::status reply_reader::feed(std::string_view line) {
    if (line.size() < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]))
        return status::malformed;
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code < 200 || code > 599)
        return status::malformed;
    if (!lines_.empty() && code != code_)
        return status::malformed;
    char sep = line.size() > 3 ? line[3] : ' ';
    if (sep != ' ' && sep != '-')
        return status::malformed;
    if (lines_.size() >= max_lines_)
        return status::malformed;
    code_ = code;
    lines_.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
    if (sep == '-')
        return status::more;

    done_ = reply{code, {}, {}};
    if (auto n = enhanced_length(lines_.front(), code))
        done_.enhanced = lines_.front().substr(0, n);
    for (std::size_t i = 0; i < lines_.size(); ++i) {
        std::string_view text = lines_[i];
        if (!done_.enhanced.empty() && text.starts_with(done_.enhanced) &&
            (text.size() == done_.enhanced.size() || text[done_.enhanced.size()] == ' ')) {
            text.remove_prefix(std::min(text.size(), done_.enhanced.size() + 1));
        }
        if (i)
            done_.text += '\n';
        done_.text += text;
    }
    lines_.clear();
    return status::complete;
}

reply reply_reader::take() {
    return std::move(done_);
}

extensions extensions::parse(const reply& ehlo) {
    extensions e;
    e.esmtp = true;
    auto lines = util::split(ehlo.text, '\n');
    for (std::size_t i = 1; i < lines.size(); ++i) {
        auto line = util::trim(lines[i]);
        auto space = line.find(' ');
        auto keyword = line.substr(0, space);
        auto arg = space == std::string_view::npos ? std::string_view{}
                                                   : util::trim(line.substr(space + 1));
        if (util::iequals(keyword, "PIPELINING")) {
            e.pipelining = true;
        } else if (util::iequals(keyword, "STARTTLS")) {
            e.starttls = true;
        } else if (util::iequals(keyword, "SMTPUTF8")) {
            e.smtputf8 = true;
        } else if (util::iequals(keyword, "8BITMIME")) {
            e.eight_bit_mime = true;
        } else if (util::iequals(keyword, "ENHANCEDSTATUSCODES")) {
            e.enhanced_status_codes = true;
        } else if (util::iequals(keyword, "DSN")) {
            e.dsn = true;
        } else if (util::iequals(keyword, "SIZE")) {
            e.size = true;
            std::uint64_t v = 0;
            auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), v);
            if (ec == std::errc{} && end == arg.data() + arg.size())
                e.max_size = v;
        }
    }
    return e;
}

const char* to_string(rcpt_outcome o) {
    switch (o) {
        case rcpt_outcome::delivered:
            return "delivered";
        case rcpt_outcome::transient:
            return "transient";
        case rcpt_outcome::permanent:
            return "permanent";
    }
    return "transient";
}

client::client(client_options options) : options_(std::move(options)) {}

client_stage client::waiting_for() const {
    switch (state_) {
        case state::greeting:
            return client_stage::greeting;
        case state::ehlo:
            return client_stage::ehlo;
        case state::helo:
            return client_stage::helo;
        case state::starttls:
            return tls_pending_ ? client_stage::none : client_stage::starttls;
        case state::transaction:
            if (expected_.empty())
                return client_stage::none;
            switch (expected_.front()) {
                case expect::mail:
                    return client_stage::mail;
                case expect::rcpt:
                    return client_stage::rcpt;
                case expect::data:
                    return client_stage::data;
                case expect::data_end:
                case expect::abort_dot:
                    return data_sent_ || expected_.front() == expect::abort_dot
                               ? client_stage::data_end
                               : client_stage::none;  // the body is not written yet
            }
            return client_stage::none;
        case state::rset:
            return client_stage::rset;
        case state::quit:
            return client_stage::quit;
        case state::idle:
        case state::closed:
            return client_stage::none;
    }
    return client_stage::none;
}

std::string client::hello(bool esmtp) const {
    return fmt::format("{} {}\r\n", esmtp ? "EHLO" : "HELO", options_.ehlo_domain);
}

std::vector<client::action> client::end_session(client_stage stage, const reply& r) {
    failure_ = session_failure{stage, r};
    // 421 means the server is closing already (RFC 5321 §3.8); otherwise say QUIT politely.
    if (r.code == 421) {
        state_ = state::closed;
        return make(close{});
    }
    state_ = state::quit;
    return make(send{"QUIT\r\n"});
}

std::vector<client::action> client::on_reply(const reply& r) {
    switch (state_) {
        case state::greeting:
            if (r.code != 220)
                return end_session(client_stage::greeting, r);
            state_ = state::ehlo;
            return make(send{hello(true)});
        case state::ehlo:
            if (r.code == 250)
                return after_hello(r, true);
            // RFC 5321 §3.2: a server that does not know EHLO answers 5xx; fall back to HELO.
            if (r.permanent()) {
                state_ = state::helo;
                return make(send{hello(false)});
            }
            return end_session(client_stage::ehlo, r);
        case state::helo:
            if (r.code == 250)
                return after_hello(r, false);
            return end_session(client_stage::helo, r);
        case state::starttls:
            if (tls_pending_)
                break;
            if (r.code == 220) {
                tls_pending_ = true;
                return make(start_tls{});
            }
            if (options_.require_tls)
                return end_session(client_stage::starttls, r);
            state_ = state::idle;  // opportunistic: go on in the clear
            return make(ready{});
        case state::transaction:
            if (expected_.empty())
                break;
            if (r.code == 421)
                return server_closing(r);
            return on_transaction_reply(r);
        case state::rset:
            if (r.code == 250) {
                state_ = state::idle;
                return make(ready{});
            }
            if (r.code == 421) {
                state_ = state::closed;
                return make(close{});
            }
            state_ = state::quit;
            return make(send{"QUIT\r\n"});
        case state::quit:
            state_ = state::closed;
            return make(close{});
        case state::idle:
        case state::closed:
            break;
    }
    return on_connection_lost(fmt::format("unexpected reply: {}", r.summary()));
}

std::vector<client::action> client::after_hello(const reply& r, bool esmtp) {
    extensions_ = esmtp ? extensions::parse(r) : extensions{};
    if (!options_.tls_active && options_.starttls && extensions_.starttls) {
        state_ = state::starttls;
        tls_pending_ = false;
        return make(send{"STARTTLS\r\n"});
    }
    if (options_.require_tls && !options_.tls_active) {
        // A local decision: the server is still there, so say QUIT.
        failure_ = session_failure{
            client_stage::starttls,
            local_reply(421, "4.7.0", "TLS is required, but the server does not offer STARTTLS")};
        state_ = state::quit;
        return make(send{"QUIT\r\n"});
    }
    state_ = state::idle;
    return make(ready{});
}

std::vector<client::action> client::on_tls_started() {
    if (state_ != state::starttls || !tls_pending_)
        return on_connection_lost("TLS started out of turn");
    tls_pending_ = false;
    options_.tls_active = true;
    // RFC 3207 §4.2: forget what the server said in the clear and ask again.
    extensions_ = {};
    state_ = state::ehlo;
    return make(send{hello(true)});
}

std::vector<client::action> client::on_connection_lost(std::string_view why) {
    std::vector<action> out;
    auto r = local_reply(451, "4.4.2", fmt::format("connection lost: {}", why));
    if (state_ == state::transaction) {
        for (auto& res : results_) {
            if (res.response.code == 0)
                res = recipient_result{res.address, rcpt_outcome::transient, r};
        }
        out.push_back(transaction_done{std::move(results_)});
        results_.clear();
    } else if (state_ != state::idle && state_ != state::rset && state_ != state::quit && state_ != state::closed && !failure_) {
        failure_ = session_failure{waiting_for(), r};
        if (state_ == state::starttls)
            failure_->stage = client_stage::starttls;
    }
    expected_.clear();
    state_ = state::closed;
    out.push_back(close{});
    return out;
}

std::vector<client::action> client::server_closing(const reply& r) {
    // The command the 421 answered: a "slow down" at RCPT or after the dot is told apart from a
    // lost connection by it (delivery passes every reply with a stage to the throttles).
    auto answered = client_stage::none;
    switch (expected_.front()) {
        case expect::mail:
            answered = client_stage::mail;
            break;
        case expect::rcpt:
            answered = client_stage::rcpt;
            break;
        case expect::data:
            answered = client_stage::data;
            break;
        case expect::data_end:
        case expect::abort_dot:
            answered = client_stage::data_end;
            break;
    }
    std::vector<action> out;
    for (auto& res : results_) {
        if (res.response.code == 0)
            res = recipient_result{res.address, rcpt_outcome::transient, r, answered};
    }
    out.push_back(transaction_done{std::move(results_)});
    results_.clear();
    expected_.clear();
    state_ = state::closed;
    out.push_back(close{});
    return out;
}

std::vector<client::action> client::fail_all(const reply& r, rcpt_outcome o) {
    for (auto& res : results_)
        res = recipient_result{res.address, o, r};
    auto out = make(transaction_done{std::move(results_)}, ready{});
    results_.clear();
    return out;
}

std::string client::mail_command() const {
    std::string cmd = fmt::format("MAIL FROM:<{}>", message_.reverse_path);
    if (extensions_.size && message_.size > 0)
        cmd += fmt::format(" SIZE={}", message_.size);
    if (extensions_.eight_bit_mime) {
        if (message_.body == body_type::eight_bit_mime)
            cmd += " BODY=8BITMIME";
        else if (message_.body == body_type::seven_bit)
            cmd += " BODY=7BIT";
    }
    if (message_.smtputf8 && extensions_.smtputf8)
        cmd += " SMTPUTF8";
    if (extensions_.dsn) {
        if (message_.ret == dsn_ret::full)
            cmd += " RET=FULL";
        else if (message_.ret == dsn_ret::headers)
            cmd += " RET=HDRS";
        if (!message_.envid.empty())
            cmd += " ENVID=" + encode_xtext(message_.envid);
    }
    return cmd + "\r\n";
}

std::string client::rcpt_command(const recipient& rc) const {
    std::string cmd = fmt::format("RCPT TO:<{}>", rc.address);
    if (extensions_.dsn) {
        if (rc.notify & notify_never) {
            cmd += " NOTIFY=NEVER";
        } else if (rc.notify != 0) {
            std::string list;
            for (auto [bit, name] :
                 {std::pair{notify_success, "SUCCESS"}, std::pair{notify_failure, "FAILURE"},
                  std::pair{notify_delay, "DELAY"}}) {
                if (rc.notify & bit)
                    list += (list.empty() ? "" : ",") + std::string(name);
            }
            cmd += " NOTIFY=" + list;
        }
        // RFC 3461 §4.2: ORCPT=addr-type;xtext. The type is kept as is, the address encoded.
        if (auto semi = rc.orcpt.find(';'); semi != std::string::npos && semi > 0)
            cmd += " ORCPT=" + rc.orcpt.substr(0, semi + 1) +
                   encode_xtext(std::string_view(rc.orcpt).substr(semi + 1));
    }
    return cmd + "\r\n";
}

std::vector<client::action> client::start(outbound_message message) {
    if (state_ != state::idle)
        return on_connection_lost("start() while the session is not idle");
    message_ = std::move(message);
    results_.clear();
    for (const auto& rc : message_.recipients)
        results_.push_back(recipient_result{rc.address, rcpt_outcome::transient, {}});
    accepted_.assign(message_.recipients.size(), false);
    expected_.clear();
    rcpts_sent_ = 0;
    rcpts_answered_ = 0;
    mail_failed_.reset();
    data_sent_ = false;

    if (message_.recipients.empty())
        return make(transaction_done{}, ready{});
    if (message_.smtputf8 && !extensions_.smtputf8) {
        return fail_all(
            local_reply(
                550, "5.6.7", "the message needs SMTPUTF8 and the receiving server lacks it"
            ),
            rcpt_outcome::permanent
        );
    }
    if (extensions_.size && extensions_.max_size > 0 && message_.size > extensions_.max_size) {
        return fail_all(
            local_reply(
                552, "5.3.4",
                fmt::format(
                    "message of {} bytes exceeds the receiving server's limit of {}", message_.size,
                    extensions_.max_size
                )
            ),
            rcpt_outcome::permanent
        );
    }

    state_ = state::transaction;
    std::string bytes = mail_command();
    expected_.push_back(expect::mail);
    if (extensions_.pipelining) {
        // RFC 2920 §3.1: MAIL, every RCPT and DATA in one group; DATA may end a group.
        for (const auto& rc : message_.recipients) {
            bytes += rcpt_command(rc);
            expected_.push_back(expect::rcpt);
        }
        rcpts_sent_ = message_.recipients.size();
        bytes += "DATA\r\n";
        expected_.push_back(expect::data);
    }
    return make(send{std::move(bytes)});
}

void client::next_rcpt(std::vector<action>& out) {
    out.push_back(send{rcpt_command(message_.recipients[rcpts_sent_++])});
    expected_.push_back(expect::rcpt);
}

std::vector<client::action> client::on_transaction_reply(const reply& r) {
    std::vector<action> out;
    auto e = expected_.front();
    expected_.pop_front();
    bool any_accepted = std::find(accepted_.begin(), accepted_.end(), true) != accepted_.end();
    switch (e) {
        case expect::mail:
            if (r.code / 100 == 2) {
                if (!extensions_.pipelining)
                    next_rcpt(out);
                break;
            }
            mail_failed_ = r;
            for (auto& res : results_)
                res = recipient_result{res.address, outcome_of(r), r, client_stage::mail};
            break;
        case expect::rcpt: {
            auto i = rcpts_answered_++;
            if (mail_failed_)
                break;
            if (r.code == 250 || r.code == 251)
                accepted_[i] = true;
            else
                results_[i] =
                    recipient_result{results_[i].address, outcome_of(r), r, client_stage::rcpt};
            if (!extensions_.pipelining) {
                if (rcpts_sent_ < message_.recipients.size()) {
                    next_rcpt(out);
                } else if (std::find(accepted_.begin(), accepted_.end(), true) != accepted_.end()) {
                    out.push_back(send{"DATA\r\n"});
                    expected_.push_back(expect::data);
                }
            }
            break;
        }
        case expect::data:
            if (r.code == 354) {
                if (!mail_failed_ && any_accepted) {
                    data_sent_ = true;
                    expected_.push_back(expect::data_end);
                    out.push_back(send_body{});
                } else {
                    // RFC 2920 §3.1: DATA went out in the group though no recipient was
                    // accepted, and the server still said 354: end an empty message.
                    expected_.push_back(expect::abort_dot);
                    out.push_back(send{".\r\n"});
                }
                break;
            }
            if (!mail_failed_) {
                for (std::size_t i = 0; i < results_.size(); ++i) {
                    if (accepted_[i])
                        results_[i] = recipient_result{
                            results_[i].address, outcome_of(r), r, client_stage::data};
                }
            }
            break;
        case expect::data_end:
            ++messages_sent_;
            for (std::size_t i = 0; i < results_.size(); ++i) {
                if (accepted_[i])
                    results_[i] = recipient_result{
                        results_[i].address, outcome_of(r), r, client_stage::data_end};
            }
            break;
        case expect::abort_dot:
            break;
    }
    if (!expected_.empty())
        return out;
    return finish_transaction(std::move(out));
}

std::vector<client::action> client::finish_transaction(std::vector<action> out) {
    out.push_back(transaction_done{std::move(results_)});
    results_.clear();
    if (data_sent_) {
        state_ = state::idle;
        out.push_back(ready{});
    } else {
        // The transaction ended before its data: reset it so the connection can carry the
        // next message (RFC 5321 §4.1.1.5).
        state_ = state::rset;
        out.push_back(send{"RSET\r\n"});
    }
    return out;
}

std::vector<client::action> client::quit() {
    if (state_ == state::closed || state_ == state::quit)
        return {};
    if (state_ != state::idle)
        return on_connection_lost("quit() while the session is not idle");
    state_ = state::quit;
    return make(send{"QUIT\r\n"});
}

void dot_stuffer::put(std::string_view chunk, std::string& out) {
    if (chunk.empty())
        return;
    out.reserve(out.size() + chunk.size() + chunk.size() / 64);
    if (line_start_ && chunk.front() == '.')
        out += '.';
    // Copied a run at a time: from the start (or a doubled dot) up to the next LF that a dot
    // follows.
    std::size_t from = 0;
    for (auto at = chunk.find("\n.", from); at != std::string_view::npos;
         at = chunk.find("\n.", from)) {
        out.append(chunk.substr(from, at + 1 - from));
        out += '.';
        from = at + 1;
    }
    out.append(chunk.substr(from));
    line_start_ = chunk.back() == '\n';
    last_ = chunk.back();
    empty_ = false;
}

void dot_stuffer::finish(std::string& out) {
    if (!empty_ && last_ != '\n')
        out += last_ == '\r' ? "\n" : "\r\n";
    out += ".\r\n";
    line_start_ = true;
    last_ = '\n';
    empty_ = true;
}

std::string dot_stuff(std::string_view message) {
    dot_stuffer s;
    std::string out;
    s.put(message, out);
    s.finish(out);
    return out;
}

}  // namespace outpost::smtp
