// Bounce classification: DSNs, ARF reports, auto-replies, non-standard bounces and SMTP replies.
#include "core/bounce/classifier.hpp"

#include <optional>

#include "core/bounce/detail/dsn_fields.hpp"
#include "core/bounce/detail/mime.hpp"
#include "core/bounce/detail/rules.hpp"
#include "core/bounce/detail/text_report.hpp"

namespace outpost::bounce {

namespace {

using detail::entity;

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

bool generic_status(std::string_view status) {
    // "5.0.0" and "4.0.0" say only permanent or temporary.
    return status.size() >= 5 && status.substr(1) == ".0.0";
}

struct evidence {
    std::string_view first;       // the line that names the recipient, when it says more
    std::string_view diagnostic;  // the recipient's own text: Diagnostic-Code or report lines
    std::string_view context;     // the rest of the report: human-readable text, subject
    std::string status;
    bool delayed = false;
    std::optional<reply_phase> phase;  // known for synchronous replies
};

// Text rules on the recipient's own diagnostic first, then what the status code alone says,
// then text rules on the rest of the report. A status says less than a sentence: "5.2.1" may be
// a disabled mailbox or a filter, "User unknown" next to it settles it.
reason decide(const evidence& ev) {
    const auto& r = detail::rules();
    auto resolve = [&](const detail::rule_set::match_result& m) {
        if (!m.refusal)
            return m.why;
        // As Sisimai tells them apart: a bare "user unknown" is a missing mailbox when the status
        // or the SMTP phase says so, and a filter's refusal after DATA, with a status of the
        // mailbox (x.2.x) or security (x.7.x) classes, or with no status at all to go by.
        auto by_status = r.for_status(ev.status);
        if (by_status == reason::userunknown || by_status == reason::hasmoved)
            return reason::userunknown;
        if (ev.phase == reply_phase::rcpt)
            return reason::userunknown;
        if (ev.phase == reply_phase::data)
            return reason::filtered;
        auto all = detail::normalize(
            std::string(ev.first) + "\n" + std::string(ev.diagnostic) + "\n" +
            std::string(ev.context)
        );
        if (r.is_data_phase(all))
            return reason::filtered;
        if (r.is_rcpt_phase(all))
            return reason::userunknown;
        if (ev.status.empty() || ev.status.substr(1).starts_with(".2.") ||
            ev.status.substr(1).starts_with(".7."))
            return reason::filtered;
        return reason::userunknown;
    };
    if (auto why = r.match(detail::normalize(ev.first)))
        return resolve(*why);
    if (auto why = r.match(detail::normalize(ev.diagnostic)))
        return resolve(*why);
    if (!generic_status(ev.status))
        if (auto why = r.for_status(ev.status))
            return *why;
    if (auto why = r.match(detail::normalize(ev.context)))
        return resolve(*why);
    if (ev.delayed)
        return reason::expired;
    return reason::undefined;
}

// Adjustments that need more than one piece of evidence.
reason refine(reason why, std::string_view diagnostic, bool temporary) {
    const auto& r = detail::rules();
    // A recipient refused only after DATA passed RCPT: a filter, not a missing mailbox.
    if (why == reason::userunknown && r.is_data_phase(detail::normalize(diagnostic)))
        return reason::filtered;
    // A temporary failure to find the host is a DNS or network problem, not a missing domain.
    if (why == reason::hostunknown && temporary)
        return reason::networkerror;
    if (why == reason::undefined && temporary)
        return reason::systemerror;
    return why;
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

std::vector<classification> classify_dsn(const dsn& report) {
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
        if (c.status.empty() || generic_status(c.status)) {
            auto from_text = detail::find_status(rcpt.diagnostic_code);
            if (!from_text.empty() && (c.status.empty() || from_text[0] == c.status[0]))
                c.status = from_text;
        }
        c.diagnostic = one_line(rcpt.diagnostic_code);
        bool delayed = rcpt.action == "delayed" || (rcpt.action.empty() && report_delayed);
        // The diagnostic type counts: "X-Unix; 71" is a local delivery program failing.
        auto diagnostic = rcpt.diagnostic_type.empty() || rcpt.diagnostic_type == "smtp"
                              ? rcpt.diagnostic_code
                              : rcpt.diagnostic_type + "; " + rcpt.diagnostic_code;
        // With several recipients, the human-readable lines about this one come first.
        auto about = report.recipients.size() > 1
                         ? detail::lines_about(report.human_text, c.recipient, addresses)
                         : std::string();
        if (rcpt.action == "delivered" || rcpt.action == "relayed" || rcpt.action == "expanded") {
            c.why = reason::delivered;
        } else {
            c.why = decide({{}, diagnostic + "\n" + about, context, c.status, delayed, {}});
            c.why = refine(c.why, diagnostic, delayed || c.status.starts_with('4'));
        }
        finish(c, delayed || c.status.starts_with('4'));
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<classification> classify_text(const entity& message) {
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
        c.why = refine(
            decide({named.line, named.text, context, c.status, delayed, {}}), named.text, temporary
        );
        c.diagnostic = one_line(named.text);
        finish(c, temporary);
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

classification classify(const smtp::reply& reply, reply_phase phase) {
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
        c.why = decide({{}, reply.text, {}, c.status, false, phase});
        if (c.why == reason::undefined &&
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
    if (auto report = detail::read_dsn(top); report && !report->recipients.empty())
        return classify_dsn(*report);
    auto text = classify_text(top);
    bool failure_named = false;
    for (const auto& c : text)
        if (c.why != reason::undefined)
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
    return text;
}

}  // namespace outpost::bounce
