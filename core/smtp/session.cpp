#include "core/smtp/session.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/smtp/address.hpp"
#include "core/smtp/command.hpp"
#include "core/util/text.hpp"

namespace outpost::smtp {

namespace {

// RFC 4954 §4: a line of the AUTH exchange may be up to 12288 octets.
constexpr std::size_t max_auth_line = 12288;

std::optional<std::uint64_t> parse_number(std::string_view s) {
    if (s.empty() || s.size() > 19)
        return std::nullopt;
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return n;
}

bool printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u > 32 && u < 127;
    });
}

}  // namespace

session::session(session_options options) : options_(std::move(options)) {}

std::vector<action> session::greet() {
    std::vector<action> out;
    respond(out, 220, "", fmt::format("{} ESMTP Outpost", options_.hostname));
    return out;
}

void session::respond(
    std::vector<action>& out, int code, std::string_view enhanced, std::string text
) {
    // Replies echo client bytes (a parameter, an address): never raw, line by line.
    std::string safe;
    for (auto line : util::split(text, '\n')) {
        if (!safe.empty())
            safe += '\n';
        safe += util::printable_ascii(line);
    }
    out.push_back(send_reply{smtp::reply{code, std::string(enhanced), std::move(safe)}});
}

void session::error(
    std::vector<action>& out, int code, std::string_view enhanced, std::string text
) {
    respond(out, code, enhanced, std::move(text));
    count_error(out);
}

void session::reset_transaction() {
    in_transaction_ = false;
    envelope_ = envelope{};
    content_.clear();
    content_.shrink_to_fit();
    decoder_.reset();
    chunks_.reset();
    bdat_remaining_ = 0;
    bdat_last_ = false;
    bdat_failed_ = false;
    bdat_error_.reset();
    used_data_ = false;
}

bool session::may_relay() const {
    return options_.client_trusted || !auth_user_.empty();
}

bool session::auth_offered() const {
    return options_.auth != auth_mode::none && (options_.tls_active || options_.client_trusted);
}

std::string session::protocol() const {
    // RFC 3848 (ESMTPA, ESMTPS, ESMTPSA) and RFC 6531 §3.7.3 (UTF8SMTP...).
    std::string p = envelope_.smtputf8 ? "UTF8SMTP" : (extended_ ? "ESMTP" : "SMTP");
    if (options_.tls_active)
        p += 'S';
    if (!auth_user_.empty())
        p += 'A';
    return p;
}

input_result session::on_input(std::string_view bytes) {
    input_result r;
    std::size_t pos = 0;
    while (pos < bytes.size() && !closed_ && waiting_ == wait::none) {
        auto rest = bytes.substr(pos);
        if (mode_ == mode::data) {
            pos += decoder_->feed(rest, content_);
            if (decoder_->finished())
                finish_content(decoder_->problem(), r.actions);
            continue;
        }
        if (mode_ == mode::bdat) {
            auto take =
                static_cast<std::size_t>(std::min<std::uint64_t>(bdat_remaining_, rest.size()));
            if (!bdat_failed_)
                chunks_->feed(rest.substr(0, take), content_);
            pos += take;
            bdat_remaining_ -= take;
            if (bdat_remaining_ > 0)
                continue;
            mode_ = mode::command;
            if (bdat_failed_) {
                auto e = *bdat_error_;
                reset_transaction();
                error(r.actions, e.code, e.enhanced, e.text);
            } else if (bdat_last_) {
                chunks_->finish();
                finish_content(chunks_->problem(), r.actions);
            } else {
                respond(r.actions, 250, "2.0.0", fmt::format("{} octets received", bdat_chunk_));
            }
            continue;
        }
        auto lf = rest.find('\n');
        if (mode_ == mode::discard_line) {
            if (lf == std::string_view::npos) {
                pos = bytes.size();
                continue;
            }
            pos += lf + 1;
            mode_ = mode::command;
            // RFC 5321 §4.5.3.1.4: "500 Line too long".
            error(r.actions, 500, "5.5.2", "Line too long");
            continue;
        }
        auto limit = mode_ == mode::auth_line ? max_auth_line : options_.max_command_length;
        if (lf == std::string_view::npos) {
            if (rest.size() > limit + 1) {
                // Never buffer an endless line: drop it and answer when it finally ends.
                if (mode_ == mode::auth_line)
                    auth_step_ = 0;
                mode_ = mode::discard_line;
                pos = bytes.size();
            }
            break;
        }
        auto line = rest.substr(0, lf);
        pos += lf + 1;
        if (line.ends_with('\r'))
            line.remove_suffix(1);
        if (line.size() > limit) {
            if (mode_ == mode::auth_line) {
                mode_ = mode::command;
                auth_step_ = 0;
            }
            error(r.actions, 500, "5.5.2", "Line too long");
            continue;
        }
        if (line.find('\r') != std::string_view::npos ||
            line.find('\0') != std::string_view::npos) {
            error(r.actions, 500, "5.5.2", "Syntax error: bare CR or NUL in command");
            continue;
        }
        if (mode_ == mode::auth_line)
            handle_auth_line(line, r.actions);
        else
            handle_line(line, r.actions);
    }
    r.consumed = pos;
    return r;
}

void session::count_error(std::vector<action>& out) {
    if (++errors_ >= options_.max_errors && !closed_) {
        respond(out, 421, "4.7.0", fmt::format("{} Error: too many errors", options_.hostname));
        out.push_back(close_connection{});
        closed_ = true;
    }
}

void session::handle_line(std::string_view line, std::vector<action>& out) {
    auto cmd = parse_command(line);
    if (++commands_ > options_.max_commands) {
        respond(out, 421, "4.7.0", fmt::format("{} Error: too many commands", options_.hostname));
        out.push_back(close_connection{});
        closed_ = true;
        return;
    }
    bool junk = cmd.name == verb::noop || cmd.name == verb::rset || cmd.name == verb::vrfy ||
                cmd.name == verb::help;
    if (junk && ++junk_ > options_.max_junk_commands) {
        // Answered as usual, but counted: 300 NOOPs end the session like 10 bad commands.
        dispatch(cmd, out);
        return count_error(out);
    }
    dispatch(cmd, out);
}

void session::dispatch(const command& cmd, std::vector<action>& out) {
    switch (cmd.name) {
        case verb::ehlo:
            return ehlo(cmd.args, true, out);
        case verb::helo:
            return ehlo(cmd.args, false, out);
        case verb::mail:
            return mail(cmd.args, out);
        case verb::rcpt:
            return rcpt(cmd.args, out);
        case verb::data:
            return data(cmd.args, out);
        case verb::bdat:
            return bdat(cmd.args, out);
        case verb::starttls:
            return starttls(cmd.args, out);
        case verb::auth:
            return auth(cmd.args, out);
        case verb::rset:
            if (!cmd.args.empty())
                return error(out, 501, "5.5.4", "Syntax: RSET");
            reset_transaction();
            return respond(out, 250, "2.0.0", "Ok");
        case verb::noop:
            return respond(out, 250, "2.0.0", "Ok");
        case verb::quit:
            respond(out, 221, "2.0.0", "Bye");
            out.push_back(close_connection{});
            closed_ = true;
            return;
        case verb::vrfy:
            if (cmd.args.empty())
                return error(out, 501, "5.5.4", "Syntax: VRFY <address>");
            // RFC 5321 §3.5.3: 252 when the server will not verify but will accept.
            return respond(
                out, 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"
            );
        case verb::expn:
            return error(out, 502, "5.5.1", "EXPN not available");
        case verb::help:
            return respond(
                out, 214, "2.0.0",
                "Outpost: commands EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS "
                "AUTH"
            );
        case verb::unknown:
            return error(out, 500, "5.5.2", "Command not recognized");
    }
}

void session::ehlo(std::string_view args, bool extended, std::vector<action>& out) {
    auto name = args.substr(0, args.find(' '));
    if (name.empty() || (!printable_ascii(name) && !has_non_ascii(name)))
        return error(
            out, 501, "5.5.4", extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname"
        );
    // RFC 5321 §4.1.4: EHLO in a session resets the transaction like RSET.
    reset_transaction();
    greeted_ = true;
    extended_ = extended;
    helo_ = std::string(name);
    if (!extended)
        return respond(out, 250, "", options_.hostname);
    std::string text = options_.hostname;
    text += "\nPIPELINING";
    text += fmt::format("\nSIZE {}", options_.max_message_size);
    text += "\nENHANCEDSTATUSCODES\n8BITMIME\nSMTPUTF8\nCHUNKING\nDSN";
    if (options_.starttls_available && !options_.tls_active)
        text += "\nSTARTTLS";
    if (auth_offered())
        text += "\nAUTH PLAIN LOGIN";
    respond(out, 250, "", std::move(text));
}

void session::mail(std::string_view args, std::vector<action>& out) {
    if (!greeted_)
        return error(out, 503, "5.5.1", "Send EHLO or HELO first");
    if (in_transaction_)
        return error(out, 503, "5.5.1", "Nested MAIL command");
    if (options_.auth == auth_mode::required && auth_user_.empty())
        return error(out, 530, "5.7.0", "Authentication required");
    auto parsed = split_path_and_params(args, "FROM:");
    if (!parsed)
        return error(out, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
    if (!parsed->params.empty() && !extended_)
        return error(out, 555, "5.5.4", "MAIL parameters need EHLO");
    envelope env;
    for (const auto& [key, value] : parsed->params) {
        auto dup = std::count_if(parsed->params.begin(), parsed->params.end(), [&](const auto& p) {
            return p.first == key;
        });
        if (dup > 1)
            return error(out, 501, "5.5.4", fmt::format("Duplicate {} parameter", key));
        if (key == "SIZE") {
            auto n = parse_number(value);
            if (!n)
                return error(out, 501, "5.5.4", "Syntax: SIZE=<number>");
            if (*n > options_.max_message_size)
                return respond(
                    out, 552, "5.3.4", "Message size exceeds fixed maximum message size"
                );
            env.declared_size = *n;
        } else if (key == "BODY") {
            if (util::iequals(value, "7BIT"))
                env.body = body_type::seven_bit;
            else if (util::iequals(value, "8BITMIME"))
                env.body = body_type::eight_bit_mime;
            else
                return error(out, 555, "5.5.4", fmt::format("BODY={} not supported", value));
        } else if (key == "SMTPUTF8") {
            if (!value.empty())
                return error(out, 501, "5.5.4", "SMTPUTF8 takes no value");
            env.smtputf8 = true;
        } else if (key == "RET") {
            if (util::iequals(value, "FULL"))
                env.ret = dsn_ret::full;
            else if (util::iequals(value, "HDRS"))
                env.ret = dsn_ret::headers;
            else
                return error(out, 501, "5.5.4", "Syntax: RET=FULL or RET=HDRS");
        } else if (key == "ENVID") {
            auto decoded = decode_printable_xtext(value);
            // RFC 3461 §4.4: at most 100 characters, printable once decoded.
            if (!decoded || value.size() > 100 || decoded->empty())
                return error(
                    out, 501, "5.5.4", "Syntax: ENVID=<xtext of printable US-ASCII, at most 100>"
                );
            env.envid = *decoded;
        } else if (key == "AUTH") {
            // RFC 4954 §5: accepted; the identity we trust is the one this session authenticated.
            if (!decode_xtext(value))
                return error(out, 501, "5.5.4", "Syntax: AUTH=<xtext>");
        } else {
            return error(out, 555, "5.5.4", fmt::format("Unsupported MAIL parameter {}", key));
        }
    }
    auto path = parse_path(parsed->path, env.smtputf8);
    if (!path.path) {
        if (path.error == path_error::needs_utf8)
            return error(out, 553, "5.6.7", "Sender address needs SMTPUTF8");
        if (path.error == path_error::too_long)
            return error(out, 553, "5.1.7", "Sender address too long");
        return error(out, 501, "5.1.7", "Bad sender address syntax");
    }
    // RFC 6531 §3.3: a mailbox is UTF-8, so bytes that are not well-formed UTF-8 are refused
    // here, before a message is signed for an address the next hop will refuse.
    if (env.smtputf8 && !util::valid_utf8(path.path->box.text()))
        return error(out, 553, "5.6.7", "Malformed UTF-8 in the sender address");
    if (options_.storage_low && options_.storage_low())
        return respond(out, 452, "4.3.1", "Insufficient system storage, try again later");
    env.reverse_path = path.path->null ? std::string{} : path.path->box.text();
    env.client_address = options_.client_address;
    env.client_trusted = options_.client_trusted;
    env.priority = options_.priority;
    env.helo = helo_;
    env.auth_user = auth_user_;
    env.tls = tls_;
    envelope_ = std::move(env);
    envelope_.protocol = protocol();
    in_transaction_ = true;
    respond(out, 250, "2.1.0", "Sender ok");
}

void session::rcpt(std::string_view args, std::vector<action>& out) {
    auto before = out.size();
    rcpt_reply(args, out);
    if (!options_.on_rcpt_refused)
        return;
    for (auto i = before; i < out.size(); ++i) {
        const auto* r = std::get_if<send_reply>(&out[i]);
        if (!r || r->r.code < 400)
            continue;
        const auto& e = r->r.enhanced;
        std::string_view reason = r->r.code == 554 && e == "5.7.1"   ? "relay"
                                  : r->r.code == 550 && e == "5.1.1" ? "suppressed"
                                  : e == "4.5.3"                     ? "limit"
                                  : e == "4.3.1"                     ? "storage"
                                  : r->r.code == 550 && e == "5.7.1" ? "policy"
                                  : r->r.code == 503                 ? "sequence"
                                  : r->r.code == 421                 ? "limit"
                                                                     : "syntax";
        options_.on_rcpt_refused(reason);
        break;
    }
}

void session::rcpt_reply(std::string_view args, std::vector<action>& out) {
    if (!in_transaction_)
        return error(out, 503, "5.5.1", "Need MAIL command");
    if (used_data_ || chunks_)
        return error(out, 503, "5.5.1", "RCPT not allowed after BDAT");
    auto parsed = split_path_and_params(args, "TO:");
    if (!parsed)
        return error(out, 501, "5.5.4", "Syntax: RCPT TO:<address>");
    if (!parsed->params.empty() && !extended_)
        return error(out, 555, "5.5.4", "RCPT parameters need EHLO");
    recipient rc;
    for (const auto& [key, value] : parsed->params) {
        auto dup = std::count_if(parsed->params.begin(), parsed->params.end(), [&](const auto& p) {
            return p.first == key;
        });
        if (dup > 1)
            return error(out, 501, "5.5.4", fmt::format("Duplicate {} parameter", key));
        if (key == "NOTIFY") {
            // RFC 3461 §4.1: NEVER alone, or a list of SUCCESS, FAILURE, DELAY.
            for (auto word : util::split(value, ',')) {
                std::uint8_t bit = util::iequals(word, "NEVER")     ? notify_never
                                   : util::iequals(word, "SUCCESS") ? notify_success
                                   : util::iequals(word, "FAILURE") ? notify_failure
                                   : util::iequals(word, "DELAY")   ? notify_delay
                                                                    : 0;
                if (bit == 0 || (rc.notify & bit))
                    return error(
                        out, 501, "5.5.4", "Syntax: NOTIFY=NEVER or SUCCESS,FAILURE,DELAY"
                    );
                rc.notify |= bit;
            }
            if ((rc.notify & notify_never) && rc.notify != notify_never)
                return error(out, 501, "5.5.4", "NOTIFY=NEVER cannot be combined");
        } else if (key == "ORCPT") {
            // RFC 3461 §4.2: addr-type ";" xtext, an address of printable US-ASCII.
            auto semi = value.find(';');
            auto decoded = semi == std::string::npos
                               ? std::nullopt
                               : decode_printable_xtext(std::string_view(value).substr(semi + 1));
            if (!decoded || semi == 0 || value.size() > 500)
                return error(out, 501, "5.5.4", "Syntax: ORCPT=<addr-type>;<xtext>");
            rc.orcpt = value.substr(0, semi) + ";" + *decoded;
        } else {
            return error(out, 555, "5.5.4", fmt::format("Unsupported RCPT parameter {}", key));
        }
    }
    // RFC 5321 §4.5.1: "Postmaster" without a domain must be accepted as a recipient. Outpost
    // has no local mailboxes, so it is refused for that reason, never as a syntax error.
    if (util::iequals(util::trim(parsed->path), "<postmaster>"))
        return error(
            out, 550, "5.7.1",
            fmt::format(
                "<postmaster>: {} is an outbound relay without local mailboxes; write to the "
                "postmaster of the domain concerned",
                options_.hostname
            )
        );
    auto path = parse_path(parsed->path, envelope_.smtputf8);
    if (!path.path || path.path->null) {
        if (path.error == path_error::needs_utf8 && !path.path)
            return error(out, 553, "5.6.7", "Recipient address needs SMTPUTF8");
        if (path.error == path_error::too_long && !path.path)
            return error(out, 553, "5.1.3", "Recipient address too long");
        return error(out, 501, "5.1.3", "Bad recipient address syntax");
    }
    const auto& box = path.path->box;
    if (envelope_.smtputf8 && !util::valid_utf8(box.text()))
        return error(out, 553, "5.6.7", "Malformed UTF-8 in the recipient address");
    // Mail that comes back to us (bounces, complaints, DMARC reports) is read, never relayed:
    // anyone may send it, and no suppression applies.
    bool to_bounce_domain =
        (!options_.bounce_domain.empty() && util::iequals(box.domain, options_.bounce_domain)) ||
        (!options_.report_address.empty() && util::iequals(box.text(), options_.report_address));
    if (!may_relay() && !to_bounce_domain)
        return error(out, 554, "5.7.1", fmt::format("<{}>: Relay access denied", box.text()));
    rc.address = box.text();
    // The same recipient twice gets one copy (the domain compares case-insensitively).
    for (const auto& existing : envelope_.recipients) {
        auto at = existing.address.rfind('@');
        if (existing.address.substr(0, at) == box.local &&
            util::iequals(existing.address.substr(at + 1), box.domain))
            return respond(out, 250, "2.1.5", "Recipient ok");
    }
    if (envelope_.recipients.size() >= options_.max_recipients)
        return respond(out, 452, "4.5.3", "Too many recipients");
    if (options_.storage_low && options_.storage_low())
        return respond(out, 452, "4.3.1", "Insufficient system storage, try again later");
    if (!to_bounce_domain && options_.suppressed) {
        if (auto why = options_.suppressed(rc.address))
            return respond(out, 550, "5.1.1", fmt::format("<{}>: {}", rc.address, *why));
    }
    envelope_.recipients.push_back(std::move(rc));
    respond(out, 250, "2.1.5", "Recipient ok");
}

void session::data(std::string_view args, std::vector<action>& out) {
    if (!args.empty())
        return error(out, 501, "5.5.4", "Syntax: DATA");
    if (!in_transaction_)
        return error(out, 503, "5.5.1", "Need MAIL command");
    if (chunks_)
        return error(out, 503, "5.5.1", "DATA not allowed after BDAT");
    if (envelope_.recipients.empty())
        return error(out, 554, "5.5.1", "No valid recipients");
    used_data_ = true;
    decoder_.emplace(options_.max_message_size, options_.max_line_length);
    content_.clear();
    content_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(
        envelope_.declared_size.value_or(16 * 1024), options_.max_message_size
    )));
    mode_ = mode::data;
    respond(out, 354, "", "End data with <CR><LF>.<CR><LF>");
}

void session::bdat(std::string_view args, std::vector<action>& out) {
    auto words = util::split(args, ' ');
    auto size = words.empty() ? std::nullopt : parse_number(words[0]);
    bool last = words.size() == 2 && util::iequals(words[1], "LAST");
    if (!size || words.size() > 2 || (words.size() == 2 && !last)) {
        // Without a size the chunk cannot be skipped, so the session cannot stay in step.
        respond(out, 501, "5.5.4", "Syntax: BDAT <size> [LAST]");
        respond(
            out, 421, "4.5.0", fmt::format("{} Error: closing after bad BDAT", options_.hostname)
        );
        out.push_back(close_connection{});
        closed_ = true;
        return;
    }
    // RFC 3030 §3: a refused BDAT still has its chunk read, then answered.
    std::optional<smtp::reply> refusal;
    if (!in_transaction_)
        refusal = smtp::reply{503, "5.5.1", "Need MAIL command"};
    else if (used_data_)
        refusal = smtp::reply{503, "5.5.1", "BDAT not allowed after DATA"};
    else if (envelope_.recipients.empty())
        refusal = smtp::reply{554, "5.5.1", "No valid recipients"};
    if (!chunks_ && !refusal) {
        chunks_.emplace(options_.max_message_size, options_.max_line_length);
        content_.clear();
        content_.reserve(
            static_cast<std::size_t>(std::min<std::uint64_t>(*size, options_.max_message_size))
        );
    }
    bdat_remaining_ = *size;
    bdat_chunk_ = *size;
    bdat_last_ = last;
    bdat_failed_ = refusal.has_value();
    bdat_error_ = refusal;
    mode_ = mode::bdat;
    if (*size == 0) {
        // Nothing to read: answer at once.
        mode_ = mode::command;
        if (refusal) {
            reset_transaction();
            return error(out, refusal->code, refusal->enhanced, refusal->text);
        }
        if (last) {
            chunks_->finish();
            return finish_content(chunks_->problem(), out);
        }
        respond(out, 250, "2.0.0", "0 octets received");
    }
}

void session::finish_content(data_problem problem, std::vector<action>& out) {
    mode_ = mode::command;
    switch (problem) {
        case data_problem::too_big:
            reset_transaction();
            return respond(out, 552, "5.3.4", "Message size exceeds fixed maximum message size");
        case data_problem::bare_line_ending:
            reset_transaction();
            // As Postfix's smtpd_forbid_bare_newline: a bare CR or LF is never a line ending, so
            // the message is refused whole and never split (SMTP smuggling).
            return error(
                out, 550, "5.5.2", "Message refused: bare CR or LF found; lines must end with CRLF"
            );
        case data_problem::nul:
            reset_transaction();
            return respond(out, 550, "5.6.0", "Message refused: NUL characters are not allowed");
        case data_problem::line_too_long:
            reset_transaction();
            return respond(
                out, 550, "5.6.0",
                fmt::format(
                    "Message refused: a line is longer than {} characters", options_.max_line_length
                )
            );
        case data_problem::none:
            break;
    }
    envelope_.protocol = protocol();
    waiting_ = wait::message;
    out.push_back(accept_message{std::move(envelope_), std::move(content_)});
}

void session::starttls(std::string_view args, std::vector<action>& out) {
    if (options_.tls_active)
        return error(out, 503, "5.5.1", "TLS already active");
    if (!options_.starttls_available)
        return error(out, 502, "5.5.1", "STARTTLS not available");
    if (!args.empty())
        return error(out, 501, "5.5.4", "Syntax: STARTTLS");
    respond(out, 220, "2.0.0", "Ready to start TLS");
    out.push_back(start_tls{});
    waiting_ = wait::tls;
}

std::vector<action> session::on_tls_started(std::string tls_description) {
    // RFC 3207 §4.2: everything learned before TLS is forgotten.
    waiting_ = wait::none;
    options_.tls_active = true;
    tls_ = std::move(tls_description);
    greeted_ = false;
    extended_ = false;
    helo_.clear();
    auth_user_.clear();
    reset_transaction();
    return {};
}

void session::auth(std::string_view args, std::vector<action>& out) {
    if (options_.auth == auth_mode::none)
        return error(out, 503, "5.5.1", "Authentication not enabled");
    if (!options_.tls_active && !options_.client_trusted)
        return error(
            out, 538, "5.7.11", "Encryption required for requested authentication mechanism"
        );
    if (!greeted_ || !extended_)
        return error(out, 503, "5.5.1", "Send EHLO first");
    if (!auth_user_.empty())
        return error(out, 503, "5.5.1", "Already authenticated");
    if (in_transaction_)
        return error(out, 503, "5.5.1", "AUTH not allowed during a mail transaction");
    auto words = util::split(args, ' ');
    if (words.empty() || words[0].empty() || words.size() > 2)
        return error(out, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
    auth_mechanism_ = util::to_lower(words[0]);
    if (auth_mechanism_ != "plain" && auth_mechanism_ != "login")
        return error(out, 504, "5.5.4", "Unrecognized authentication mechanism");
    auth_step_ = 1;
    if (words.size() == 2) {
        // RFC 4954 §4: "=" is an empty initial response.
        handle_auth_line(words[1] == "=" ? std::string_view{} : words[1], out);
        return;
    }
    mode_ = mode::auth_line;
    if (auth_mechanism_ == "plain")
        respond(out, 334, "", "");
    else
        respond(out, 334, "", "VXNlcm5hbWU6");  // "Username:"
}

void session::handle_auth_line(std::string_view line, std::vector<action>& out) {
    mode_ = mode::command;
    if (line == "*") {
        auth_step_ = 0;
        return error(out, 501, "5.0.0", "Authentication cancelled");
    }
    auto decoded = util::base64_decode(line);
    if (!decoded) {
        auth_step_ = 0;
        return error(out, 501, "5.5.2", "Cannot decode base64 response");
    }
    if (auth_mechanism_ == "plain") {
        // RFC 4616: authzid NUL authcid NUL passwd.
        auto parts = util::split(*decoded, '\0');
        auth_step_ = 0;
        if (parts.size() != 3)
            return error(out, 501, "5.5.2", "Malformed PLAIN response");
        if (!parts[0].empty() && parts[0] != parts[1])
            return error(out, 535, "5.7.8", "Authentication credentials invalid");
        out.push_back(authenticate{"PLAIN", std::string(parts[1]), std::string(parts[2])});
        waiting_ = wait::auth;
        auth_login_user_ = std::string(parts[1]);
        return;
    }
    if (auth_step_ == 1) {
        auth_login_user_ = *decoded;
        auth_step_ = 2;
        mode_ = mode::auth_line;
        return respond(out, 334, "", "UGFzc3dvcmQ6");  // "Password:"
    }
    auth_step_ = 0;
    out.push_back(authenticate{"LOGIN", auth_login_user_, std::move(*decoded)});
    waiting_ = wait::auth;
}

std::vector<action> session::on_auth_result(auth_result r) {
    std::vector<action> out;
    waiting_ = wait::none;
    switch (r) {
        case auth_result::success:
            auth_user_ = auth_login_user_;
            respond(out, 235, "2.7.0", "Authentication successful");
            break;
        case auth_result::failure:
            error(out, 535, "5.7.8", "Authentication credentials invalid");
            break;
        case auth_result::locked_out:
            error(out, 454, "4.7.0", "Too many failed authentication attempts, try again later");
            break;
        case auth_result::temporary_failure:
            respond(out, 454, "4.7.0", "Temporary authentication failure");
            break;
    }
    auth_login_user_.clear();
    return out;
}

std::vector<action> session::on_message_result(const message_result& r) {
    std::vector<action> out;
    waiting_ = wait::none;
    switch (r.outcome) {
        case message_result::kind::queued:
            junk_ = 0;
            respond(out, 250, "2.0.0", fmt::format("Ok: queued as {}", r.queue_id));
            break;
        case message_result::kind::temporary_failure:
            respond(out, 451, "4.3.0", "Local error in processing, try again later");
            break;
        case message_result::kind::no_space:
            respond(out, 452, "4.3.1", "Insufficient system storage, try again later");
            break;
        case message_result::kind::rejected:
            respond(out, 550, "5.7.1", r.text.empty() ? std::string("Message refused") : r.text);
            break;
    }
    reset_transaction();
    return out;
}

std::vector<action> session::on_timeout() {
    std::vector<action> out;
    respond(out, 421, "4.4.2", fmt::format("{} Error: timeout exceeded", options_.hostname));
    out.push_back(close_connection{});
    closed_ = true;
    return out;
}

std::vector<action> session::on_overload() {
    std::vector<action> out;
    respond(
        out, 421, "4.7.0",
        fmt::format(
            "{} Too many connections from your address, closing this one", options_.hostname
        )
    );
    out.push_back(close_connection{});
    closed_ = true;
    return out;
}

std::vector<action> session::on_shutdown() {
    std::vector<action> out;
    respond(
        out, 421, "4.3.2",
        fmt::format("{} Service shutting down, try again later", options_.hostname)
    );
    out.push_back(close_connection{});
    closed_ = true;
    return out;
}

}  // namespace outpost::smtp
