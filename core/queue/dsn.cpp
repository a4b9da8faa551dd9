#include "core/queue/dsn.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::queue {

bool wants_dsn(const smtp::envelope& env, const smtp::recipient& r, dsn_action action) {
    if (env.reverse_path.empty() || (r.notify & smtp::notify_never))
        return false;
    if (action == dsn_action::delayed)
        return (r.notify & smtp::notify_delay) != 0;
    return r.notify == 0 || (r.notify & smtp::notify_failure) != 0;
}

namespace {

// A value written into a DSN header field: control bytes (CR, LF, NUL, ...) left out, whatever
// reached the spool. Intake refuses them in ENVID and ORCPT; a line break here would be a header
// of the sender's choosing, or a smuggled end of data at a lenient receiver.
std::string field_text(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v)
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f)
            out += c;
    return out;
}

// The header section of a message: up to and including the empty line (or all of it).
std::string_view header_section(std::string_view message) {
    auto end = message.find("\r\n\r\n");
    return end == std::string_view::npos ? message : message.substr(0, end + 4);
}

// "550 5.1.1 no such user" -> "5.1.1"; the class of the code alone when there is none.
std::string status_in(std::string_view reply) {
    auto words = util::split(reply, ' ');
    if (words.size() >= 2) {
        auto code = words[1];
        bool enhanced = code.size() >= 5 && (code[0] == '4' || code[0] == '5') && code[1] == '.' &&
                        std::count(code.begin(), code.end(), '.') == 2;
        if (enhanced)
            return std::string(code);
    }
    return reply.starts_with("4") ? "4.0.0" : "5.0.0";
}

}  // namespace

std::vector<dsn_recipient> unreported_bounces(const spool::record& rec) {
    std::vector<dsn_recipient> out;
    for (const auto& r : rec.results) {
        if (r.outcome != spool::recipient_result::kind::bounced || rec.reported.count(r.index) ||
            r.reply.starts_with("not sent: "))
            continue;
        auto status = r.reply.starts_with("message expired") ? "4.4.7" : status_in(r.reply);
        out.push_back({r.index, status, r.reply, "", r.at});
    }
    return out;
}

std::optional<composed_dsn> compose_dsn(
    const dsn_settings& s,
    const spool::record& original,
    std::string_view message,
    const std::vector<dsn_recipient>& recipients,
    dsn_action action,
    std::int64_t now
) {
    std::vector<const dsn_recipient*> due;
    for (const auto& r : recipients)
        if (r.index < original.env.recipients.size() &&
            wants_dsn(original.env, original.env.recipients[r.index], action))
            due.push_back(&r);
    if (due.empty())
        return std::nullopt;

    composed_dsn out;
    out.envelope.reverse_path.clear();  // RFC 5321 §4.5.5: never a DSN about a DSN
    out.envelope.recipients.push_back({original.env.reverse_path, smtp::notify_never, ""});
    out.envelope.client_address = "127.0.0.1";
    out.envelope.helo = s.hostname;
    out.envelope.protocol = "LOCAL";
    out.envelope.client_trusted = true;

    auto boundary = fmt::format("{}/{}.dsn", original.id, s.hostname);
    bool failed = action == dsn_action::failed;
    auto& c = out.content;
    c += fmt::format("From: Mail Delivery System <MAILER-DAEMON@{}>\r\n", s.hostname);
    c += fmt::format("To: <{}>\r\n", original.env.reverse_path);
    c += failed ? "Subject: Undelivered Mail Returned to Sender\r\n"
                : "Subject: Delayed Mail (still being retried)\r\n";
    c += fmt::format("Date: {}\r\n", util::rfc5322_date(now));
    c += fmt::format("Message-ID: <{}.{}.dsn@{}>\r\n", original.id, now, s.hostname);
    c += "Auto-Submitted: auto-replied\r\n";
    c += "MIME-Version: 1.0\r\n";
    c += fmt::format(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{}\"\r\n",
        boundary
    );
    c += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

    c += fmt::format(
        "--{}\r\nContent-Description: Notification\r\nContent-Type: text/plain; "
        "charset=utf-8\r\n\r\n",
        boundary
    );
    c += fmt::format("This is the mail system at host {}.\r\n\r\n", s.hostname);
    if (failed)
        c += "Your message could not be delivered to one or more recipients. It is attached "
             "below.\r\n\r\n";
    else
        c += "Your message has not been delivered yet to one or more recipients. It is still "
             "being\r\n"
             "retried; you do not need to send it again.\r\n\r\n";
    for (const auto* r : due)
        c += fmt::format(
            "<{}>: {}\r\n", original.env.recipients[r->index].address, field_text(r->diagnostic)
        );
    c += "\r\n";

    c += fmt::format(
        "--{}\r\nContent-Description: Delivery report\r\nContent-Type: "
        "message/delivery-status\r\n\r\n",
        boundary
    );
    c += fmt::format("Reporting-MTA: dns; {}\r\n", s.hostname);
    c += fmt::format("X-Outpost-Queue-ID: {}\r\n", original.id);
    if (!original.env.envid.empty())
        c += fmt::format("Original-Envelope-Id: {}\r\n", field_text(original.env.envid));
    c += fmt::format("Arrival-Date: {}\r\n", util::rfc5322_date(original.arrived));
    for (const auto* r : due) {
        const auto& rcpt = original.env.recipients[r->index];
        c += "\r\n";
        c += fmt::format("Final-Recipient: rfc822; {}\r\n", rcpt.address);
        if (!rcpt.orcpt.empty())
            c += fmt::format("Original-Recipient: {}\r\n", field_text(rcpt.orcpt));
        c += fmt::format("Action: {}\r\n", failed ? "failed" : "delayed");
        c += fmt::format("Status: {}\r\n", r->status);
        if (!r->remote_mta.empty())
            c += fmt::format("Remote-MTA: dns; {}\r\n", field_text(r->remote_mta));
        c += fmt::format("Diagnostic-Code: smtp; {}\r\n", field_text(r->diagnostic));
        if (r->last_attempt)
            c += fmt::format("Last-Attempt-Date: {}\r\n", util::rfc5322_date(r->last_attempt));
    }
    c += "\r\n";

    // RFC 3461 §4.3: RET=HDRS returns the header only; RET=FULL or unspecified the whole message
    // (a failure only; a delay notice carries the header).
    bool full = failed && original.env.ret != smtp::dsn_ret::headers;
    if (full) {
        c += fmt::format(
            "--{}\r\nContent-Description: Undelivered Message\r\nContent-Type: "
            "message/rfc822\r\n\r\n",
            boundary
        );
        c += message;
        if (!message.ends_with("\r\n"))
            c += "\r\n";
    } else {
        c += fmt::format(
            "--{}\r\nContent-Description: Message Headers\r\nContent-Type: "
            "text/rfc822-headers\r\n\r\n",
            boundary
        );
        c += header_section(message);
    }
    c += fmt::format("\r\n--{}--\r\n", boundary);
    return out;
}

}  // namespace outpost::queue
