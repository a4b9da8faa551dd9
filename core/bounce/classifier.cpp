// Bounce classification: DSNs, ARF reports, auto-replies, non-standard bounces and SMTP replies.
#include "core/bounce/classifier.hpp"

#include <algorithm>
#include <optional>

#include "core/bounce/detail/decision.hpp"
#include "core/bounce/detail/dsn_fields.hpp"
#include "core/bounce/detail/mime.hpp"
#include "core/bounce/detail/rules.hpp"
#include "core/bounce/detail/ses_notification.hpp"
#include "core/bounce/detail/text_report.hpp"
#include "core/util/text.hpp"

namespace outpost::bounce {

namespace {

using detail::decide;
using detail::entity;
using detail::generic_status;
using detail::specific_status;
using detail::vague_status;

std::string lower_copy(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// The text on one line with runs of white space collapsed, cut at 300 bytes, for reports.
std::string one_line(std::string_view text) {
    std::string collapsed;
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            space = true;
            continue;
        }
        if (space && !collapsed.empty())
            collapsed.push_back(' ');
        space = false;
        collapsed.push_back(c);
    }
    if (collapsed.size() > 300)
        collapsed.resize(300);
    return collapsed;
}

// Fills status (derived when missing) and hard/soft.
void finish(classification& c, bool temporary) {
    if (c.status.empty()) {
        c.status = detail::rules().pseudo_status(c.why, temporary);
        c.status_derived = true;
    }
    c.hardness = severity_of(c.why, c.status);
}

std::vector<classification> classify_feedback(const entity& message, const entity& report_part) {
    auto fields = detail::read_fields(report_part.text).first;
    std::vector<std::string> recipients;
    for (const auto& f : fields) {
        auto name = lower_copy(f.name);
        if (name == "original-rcpt-to" || name == "removal-recipient")
            for (const auto& a : detail::find_addresses(f.value))
                recipients.push_back(a);
    }
    if (recipients.empty()) {
        // RFC 5965 §2: the third part is the complained-about message or its header.
        for (const auto* type : {"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"})
            if (const auto* enclosed = detail::find_part(message, type);
                enclosed && !enclosed->parts.empty()) {
                for (const auto& a : detail::find_addresses(
                         detail::field_value(enclosed->parts.front().headers, "To")
                     ))
                    recipients.push_back(a);
                if (!recipients.empty())
                    break;
            }
    }
    std::vector<classification> out;
    for (const auto& a : recipients) {
        classification c;
        c.recipient = a;
        c.why = reason::feedback;
        c.diagnostic =
            "feedback-type: " + std::string(detail::field_value(fields, "Feedback-Type"));
        c.hardness = severity::soft;
        out.push_back(std::move(c));
    }
    return out;
}

bool is_feedback_report(const entity& message) {
    auto type = detail::field_value(message.headers, "Content-Type");
    return lower_copy(detail::header_parameter(type, "report-type")) == "feedback-report" ||
           detail::find_part(message, "message/feedback-report") != nullptr;
}

// Whether a message without a failure reason in it is still a bounce: from a mail system, or
// saying so in its Subject:, or naming its failed recipients in a header.
bool looks_like_bounce(const entity& message) {
    auto from = detail::first_address(detail::field_value(message.headers, "From"));
    if (from.empty() || detail::daemon_address(from) ||
        detail::find_field(message.headers, "X-Failed-Recipients"))
        return true;
    auto subject =
        detail::normalize(detail::decode_words(detail::field_value(message.headers, "Subject")));
    return detail::rules().is_bounce_subject(subject);
}

bool is_auto_reply(const entity& message) {
    // Mail systems mark their bounces "auto-replied" too; an auto-reply comes from a person.
    auto from = detail::first_address(detail::field_value(message.headers, "From"));
    if (from.empty() || detail::daemon_address(from) ||
        detail::find_field(message.headers, "X-Failed-Recipients"))
        return false;
    auto auto_submitted = lower_copy(detail::field_value(message.headers, "Auto-Submitted"));
    if (auto_submitted.starts_with("auto-replied"))
        return true;
    if (detail::find_field(message.headers, "X-Autoreply") ||
        detail::find_field(message.headers, "X-Autorespond"))
        return true;
    auto precedence = lower_copy(detail::field_value(message.headers, "Precedence"));
    if (precedence == "auto_reply")
        return true;
    auto subject =
        detail::normalize(detail::decode_words(detail::field_value(message.headers, "Subject")));
    return detail::rules().is_autoreply(subject);
}

// Lotus Domino ("DELIVERY FAILURE: ..." reports) names each failed recipient in its text, after
// "was not delivered to:", as the address the sender wrote; its Final-Recipient fields may carry
// the address after Domino's own rewriting. The text is what the sender knows, so it wins when it
// names as many recipients as the fields do.
std::vector<std::string> domino_recipients(const dsn& report) {
    if (!lower_copy(report.subject).starts_with("delivery failure:"))
        return {};
    std::vector<std::string> named;
    bool listing = false;
    std::string_view text = report.human_text;
    while (!text.empty()) {
        auto end = text.find('\n');
        auto raw = text.substr(0, end);
        auto line = detail::normalize(raw);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        if (line == "was not delivered to:") {
            listing = true;
        } else if (line == "because:") {
            listing = false;
        } else if (listing) {
            for (auto& a : detail::find_addresses(raw))
                named.push_back(std::move(a));
        }
    }
    return named;
}

// Office 365 writes its NDRs with headers of its own; as Sisimai's reader does, two signs make
// one (a forwarded NDR keeps some of them).
bool written_by_office365(const entity& message) {
    auto from_outlook = [](std::string_view value) {
        auto lower = lower_copy(value);
        return lower.find(".outbound.protection.outlook.com") != std::string::npos ||
               lower.find(".prod.outlook.com") != std::string::npos;
    };
    int signs = 0;
    auto subject = detail::field_value(message.headers, "Subject");
    for (std::string_view word : {"Undeliverable:", "Onbestelbaar:", "Não_entregue:"})
        if (subject.find(word) != std::string_view::npos)
            ++signs;
    for (const auto* name :
         {"X-MS-Exchange-Message-Is-Ndr", "X-Microsoft-Antispam-PRVS",
          "X-Exchange-Antispam-Report-Test", "X-Exchange-Antispam-Report-CFA-Test",
          "X-MS-Exchange-CrossTenant-OriginalArrivalTime",
          "X-MS-Exchange-CrossTenant-FromEntityHeader",
          "X-MS-Exchange-Transport-CrossTenantHeadersStamped"})
        if (detail::find_field(message.headers, name))
            ++signs;
    for (const auto& f : message.headers)
        if (lower_copy(f.name) == "received" && from_outlook(f.value)) {
            ++signs;
            break;
        }
    if (from_outlook(detail::field_value(message.headers, "Message-ID")))
        ++signs;
    return signs >= 2;
}

// au (KDDI) and EZweb mark the bounces of their recipients' own filters (a recipient's
// "designated senders only" setting) with X-SPASIGN: NG, whatever the text says.
void apply_carrier_filter_mark(const entity& message, std::vector<classification>& found) {
    if (lower_copy(util::trim(detail::field_value(message.headers, "X-SPASIGN"))) != "ng")
        return;
    for (auto& c : found)
        if (c.why != reason::delivered && c.why != reason::feedback) {
            c.why = reason::filtered;
            c.hardness = severity_of(c.why, c.status);
        }
}

// The MTAs whose own tables apply to this report, told by its headers.
std::vector<std::string_view> writers_of(const entity& message) {
    std::vector<std::string_view> writers;
    if (written_by_office365(message))
        writers.push_back("office365");
    auto subject = detail::field_value(message.headers, "Subject");
    auto mailer = detail::field_value(message.headers, "X-Mailer");
    if (subject.starts_with("Undeliverable Mail ") || mailer.starts_with("<SMTP32 v"))
        writers.push_back("imailserver");
    if (detail::find_field(message.headers, "X-ZohoMail"))
        writers.push_back("zoho");
    auto from = lower_copy(detail::field_value(message.headers, "From"));
    if (from.find("<mailer-daemon@googlemail.com>") != std::string::npos &&
        subject.find("Delivery Status Notification") != std::string_view::npos)
        writers.push_back("gmail");
    return writers;
}

// An MTA's own status codes and phrases overrule the general tables (detail::settle says when).
// `text` is everything the report says about the recipient, not the shortened diagnostic.
void apply_writer_tables(
    classification& c, std::string_view text, const std::vector<std::string_view>& writers
) {
    if (writers.empty() || c.why == reason::delivered || c.why == reason::feedback)
        return;
    const auto& rules = detail::rules();
    auto said = detail::normalize(text);
    for (auto mta : writers) {
        auto why = c.status_derived ? std::nullopt : rules.mta_status(mta, c.status);
        // A phrase of the writer's yields to a specific status the report quotes ("5.2.2
        // Mailbox Full (state 14)"); a vague one ("#5.1.0 ... (state 17)") does not.
        bool specific =
            !c.status_derived && !c.status.empty() && c.status.find(".0") == std::string::npos;
        if (!why && !specific)
            why = rules.mta_text(mta, said);
        // A temporary failure ("450 ... (state 14)" in a delay warning) never becomes a hard
        // bounce by a writer's table: that would suppress an address that may still work.
        if (why && c.status.starts_with('4') && severity_of(*why, c.status) == severity::hard)
            why.reset();
        if (why && *why != c.why) {
            c.why = detail::settle(*why, c.why);
            if (c.status_derived)
                c.status = rules.pseudo_status(c.why, c.status.starts_with('4'));
            c.hardness = severity_of(c.why, c.status);
        }
    }
}

// "Final-Recipient: rfc822; @example.jp" (Sendmail, when the local part was lost): the address
// at that domain that the diagnostic names, else the transcript's RCPT TO, else any other line of
// the report; never the sender's (named on MAIL FROM, and again in "Sender ok").
std::string address_at(
    std::string_view domain, std::string_view diagnostic, std::string_view text
) {
    auto lines = util::split(text, '\n');
    std::vector<std::string> senders;
    for (auto line : lines)
        if (lower_copy(line).find("mail from") != std::string::npos)
            for (auto& a : detail::find_addresses(line))
                senders.push_back(lower_copy(a));
    auto at_domain = [&](std::string_view where) -> std::string {
        for (const auto& a : detail::find_addresses(where)) {
            auto at = a.rfind('@');
            auto lower = lower_copy(a);
            if (at != std::string::npos && at > 0 &&
                lower_copy(a.substr(at + 1)) == lower_copy(domain) &&
                std::find(senders.begin(), senders.end(), lower) == senders.end())
                return a;
        }
        return {};
    };
    if (auto found = at_domain(diagnostic); !found.empty())
        return found;
    std::string fallback;
    for (auto line : lines) {
        auto found = at_domain(line);
        if (found.empty())
            continue;
        if (lower_copy(line).find("rcpt to") != std::string::npos)
            return found;
        if (fallback.empty())
            fallback = found;
    }
    return fallback;
}

std::vector<classification> classify_dsn(dsn report, const std::vector<std::string_view>& writers) {
    if (auto named = domino_recipients(report); named.size() == report.recipients.size())
        for (std::size_t i = 0; i < named.size(); ++i)
            report.recipients[i].final_recipient = named[i];
    for (auto& rcpt : report.recipients)
        if (rcpt.address().starts_with('@'))
            if (auto full =
                    address_at(rcpt.address().substr(1), rcpt.diagnostic_code, report.human_text);
                !full.empty())
                rcpt.final_recipient = full;
    std::vector<classification> out;
    const auto& r = detail::rules();
    std::string context = report.human_text + "\n" + report.subject;
    bool report_delayed = r.is_delayed(detail::normalize(context));
    std::vector<std::string> addresses;
    for (const auto& rcpt : report.recipients)
        addresses.push_back(rcpt.address());
    for (const auto& rcpt : report.recipients) {
        classification c;
        c.recipient = rcpt.address();
        c.status = rcpt.status;
        if (c.status.empty() || vague_status(c.status)) {
            auto from_text = specific_status(rcpt.diagnostic_code, c.status);
            if (!from_text.empty() && (c.status.empty() || from_text[0] == c.status[0]))
                c.status = from_text;
        }
        c.diagnostic = one_line(rcpt.diagnostic_code);
        bool delayed = rcpt.action == "delayed" || rcpt.action == "expired" ||
                       (rcpt.action.empty() && report_delayed);
        // With several recipients, the human-readable lines about this one come first.
        auto about = report.recipients.size() > 1
                         ? detail::lines_about(report.human_text, c.recipient, addresses)
                         : std::string();
        if (rcpt.action == "delivered" || rcpt.action == "relayed" || rcpt.action == "expanded") {
            c.why = reason::delivered;
        } else {
            // Without a Diagnostic-Code the human-readable part is the diagnostic, as MTAs
            // such as Sendmail put the session transcript there. The diagnostic type counts:
            // "X-Unix; 71" is a local delivery program failing.
            const auto& own =
                rcpt.diagnostic_code.empty() && about.empty() ? report.human_text : about;
            auto diagnostic = rcpt.diagnostic_code + "\n" + own;
            auto host = detail::remote_host_in(rcpt.remote_mta);
            if (host.empty())
                host = detail::remote_host_in(diagnostic);
            c.why = decide(
                {{},
                 diagnostic,
                 context,
                 c.status,
                 0,
                 rcpt.diagnostic_type,
                 delayed,
                 {},
                 std::move(host)}
            );
        }
        // PowerMTA files each failure under a category of its own; "Action: expired" (SendGrid,
        // outside RFC 3464's actions) says the message ran out of time.
        bool temporary = delayed || c.status.starts_with('4');
        if (!rcpt.bounce_category.empty() && c.why != reason::delivered)
            if (auto listed = r.category("powermta", rcpt.bounce_category);
                listed && !(temporary && severity_of(*listed, c.status) == severity::hard))
                c.why = detail::settle(*listed, c.why);
        if (rcpt.action == "expired" && c.why != reason::delivered)
            c.why = detail::settle(reason::expired, c.why);
        finish(c, delayed || c.status.starts_with('4'));
        apply_writer_tables(
            c, rcpt.diagnostic_code + "\n" + (about.empty() ? report.human_text : about), writers
        );
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<classification> classify_text(
    const entity& message, const std::vector<std::string_view>& writers
) {
    const auto& r = detail::rules();
    auto report = detail::read_report(message);
    auto subject = detail::decode_words(detail::field_value(message.headers, "Subject"));
    std::string context = report.text + "\n" + subject;
    bool delayed = r.is_delayed(detail::normalize(context));
    std::vector<classification> out;
    for (const auto& named : detail::name_recipients(message, report)) {
        classification c;
        c.recipient = named.address;
        c.status = detail::find_status(named.text);
        int code = detail::find_reply_code(named.text);
        bool temporary =
            c.status.empty() ? (code >= 400 && code < 500) || delayed : c.status.starts_with('4');
        // A report that cannot be split per recipient has no diagnostic of its own: the whole
        // report is context, and nothing in it makes `onhold`.
        bool own = !named.line.empty() || named.text != report.text;
        c.why = decide(
            {named.line,
             own ? named.text : std::string(),
             context,
             c.status,
             code,
             {},
             delayed,
             {},
             detail::remote_host_in(named.text)}
        );
        c.diagnostic = one_line(named.text);
        finish(c, temporary);
        apply_writer_tables(c, named.text, writers);
        out.push_back(std::move(c));
    }
    return out;
}

// The body a JSON notification would be in: the message's own text or its first text part.
std::string_view first_text(const entity& e) {
    if (e.parts.empty())
        return e.text;
    for (const auto& p : e.parts)
        if (p.media_type.starts_with("text/") || p.media_type.starts_with("multipart/"))
            if (auto text = first_text(p); !text.empty())
                return text;
    return {};
}

// An Amazon SES notification: each bounced recipient with its own status and diagnostic, the
// sub-types SES itself settles (a transient MailboxFull or MessageTooLarge), complaints as
// feedback and deliveries as delivered.
std::vector<classification> classify_ses(const detail::ses_notification& n) {
    std::vector<classification> out;
    for (const auto& r : n.recipients) {
        classification c;
        c.recipient = r.address;
        c.diagnostic = one_line(r.diagnostic);
        if (n.type == "Complaint") {
            c.why = reason::feedback;
            c.diagnostic = "feedback-type: " + n.feedback_type;
        } else if (n.type == "Delivery") {
            c.why = reason::delivered;
            c.status = detail::find_status(r.diagnostic, true);
        } else {
            auto semi = r.diagnostic.find(';');
            bool typed = semi != std::string::npos && semi < 16 &&
                         r.diagnostic.substr(0, semi).find(' ') == std::string::npos;
            auto type = typed ? lower_copy(r.diagnostic.substr(0, semi)) : std::string();
            auto text = typed ? r.diagnostic.substr(semi + 1) : r.diagnostic;
            c.status = r.status.empty() ? specific_status(text, {}) : r.status;
            if (n.subtype == "MailboxFull")
                c.why = reason::mailboxfull;
            else if (n.subtype == "MessageTooLarge")
                c.why = reason::mesgtoobig;
            else
                c.why = decide({{}, text, {}, c.status, 0, type, false, {}});
        }
        if (c.why == reason::delivered || c.why == reason::feedback) {
            c.hardness = severity::soft;
            if (c.status.empty() && c.why == reason::delivered)
                c.status = "2.0.0";
        } else {
            finish(c, n.bounce_type == "Transient" || c.status.starts_with('4'));
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

classification classify(const smtp::reply& reply, reply_phase phase, std::string_view remote_host) {
    classification c;
    c.diagnostic = one_line(reply.text);
    c.status = reply.enhanced;
    if (c.status.empty()) {
        auto in_text = detail::find_status(reply.text.substr(0, 16));
        if (!in_text.empty() && reply.code > 0 &&
            in_text[0] == static_cast<char>('0' + reply.code / 100))
            c.status = in_text;
    }
    bool temporary = reply.code >= 400 && reply.code < 500;
    if (reply.positive()) {
        c.why = reason::delivered;
    } else {
        c.why = decide(
            {{},
             reply.text,
             {},
             c.status,
             reply.code,
             "smtp",
             false,
             phase,
             detail::remote_host_in(remote_host)}
        );
        if ((c.why == reason::undefined || c.why == reason::onhold) &&
            (reply.code == 421 || reply.code == 450 || reply.code == 451))
            c.why = reason::systemerror;
    }
    if (c.status.empty() && reply.code >= 200) {
        c.status = reply.positive() ? "2.0.0" : detail::rules().pseudo_status(c.why, temporary);
        c.status_derived = true;
    }
    c.hardness = severity_of(c.why, c.status);
    return c;
}

std::vector<classification> classify_message(std::string_view message) {
    auto top = detail::parse_entity(message);
    if (is_feedback_report(top)) {
        const auto* part = detail::find_part(top, "message/feedback-report");
        if (part)
            return classify_feedback(top, *part);
    }
    auto writers = writers_of(top);
    if (auto report = detail::read_dsn(top); report && !report->recipients.empty()) {
        auto found = classify_dsn(*report, writers);
        apply_carrier_filter_mark(top, found);
        return found;
    }
    if (auto ses = detail::read_ses_notification(first_text(top)))
        return classify_ses(*ses);
    auto text = classify_text(top, writers);
    bool failure_named = false;
    for (const auto& c : text)
        if (c.why != reason::undefined && c.why != reason::onhold)
            failure_named = true;
    if (is_auto_reply(top) && !failure_named) {
        // RFC 3834: the person who answered is the recipient of our message.
        classification c;
        c.recipient = detail::first_address(detail::field_value(top.headers, "From"));
        c.why = reason::vacation;
        c.diagnostic = one_line(detail::decode_words(detail::field_value(top.headers, "Subject")));
        c.hardness = severity::soft;
        if (c.recipient.empty())
            return {};
        return {c};
    }
    // Ordinary mail that reaches the bounce address names addresses too, but no failure.
    if (!failure_named && !looks_like_bounce(top))
        return {};
    apply_carrier_filter_mark(top, text);
    return text;
}

}  // namespace outpost::bounce
