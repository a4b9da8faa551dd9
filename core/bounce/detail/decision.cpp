// Deciding the bounce reason, after Sisimai's order of evidence (Sisimai::Reason): a first pass
// over the reasons that a status or a phrase settles, most specific first, then a second pass
// over the vaguer ones, with the exceptions each reason has written out as small functions.
#include "core/bounce/detail/decision.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "core/bounce/detail/rules.hpp"
#include "core/bounce/detail/text_report.hpp"

namespace outpost::bounce::detail {

bool generic_status(std::string_view status) {
    return status.size() >= 5 && status.substr(1) == ".0.0";
}

bool vague_status(std::string_view status) {
    return generic_status(status) || (status.size() == 5 && status.substr(1) == ".1.0");
}

std::string specific_status(std::string_view text, std::string_view status) {
    std::string fallback;
    while (!text.empty()) {
        auto found = find_status(text);
        if (found.empty())
            break;
        if (!vague_status(found))
            return found;
        if (fallback.empty() &&
            (status.empty() || (generic_status(status) && !generic_status(found))))
            fallback = found;
        text.remove_prefix(text.find(found) + found.size());
    }
    return fallback;
}

bool provisional(reason r) {
    switch (r) {
        case reason::undefined:
        case reason::onhold:
        case reason::systemerror:
        case reason::securityerror:
        case reason::expired:
        case reason::suspend:
        case reason::networkerror:
        case reason::hostunknown:
        case reason::userunknown:
            return true;
        default:
            return false;
    }
}

namespace {

// The facts the decision works on, read once from the evidence.
struct facts {
    std::string text;     // the recipient's own text, normalized
    std::string command;  // the refused SMTP command: RCPT, DATA, MAIL, HELO, CONN or ""
    std::string status;
    std::optional<reason> by_status;  // what the status code alone names
    std::optional<reason> by_mta;     // what an MTA- or provider-specific phrase names
    int reply_code = 0;
    bool smtp = true;    // the diagnostic is an SMTP reply (not "X-Unix; 71" or "X-Notes; ...")
    bool local = false;  // "X-Unix; 71": a local delivery program failed
    bool delayed = false;
    // says() answers, memoized: the passes ask about the same reasons again and again.
    mutable std::array<signed char, static_cast<std::size_t>(reason::virusdetected) + 1> said{};
};

// Reasons an SMTP reply's status names well enough that phrases do not overrule it, though
// weaker evidence may say them too readily: 4.4.1 (no answer from the host) is an expiry however
// the text describes the timeout, 4.4.2 a broken connection.
bool status_settles(reason r) {
    return r == reason::expired || r == reason::networkerror;
}

bool before_data(std::string_view command) {
    return command == "CONN" || command == "HELO" || command == "MAIL" || command == "RCPT";
}

bool is(const facts& f, reason r) {
    return f.by_mta == r || f.by_status == r;
}

bool says(const facts& f, reason r) {
    auto& known = f.said[static_cast<std::size_t>(r)];
    if (known == 0)
        known = rules().says(r, f.text) ? 1 : -1;
    return known > 0;
}

// A missing mailbox: the status says so and nothing says a more specific refusal, or RCPT
// was refused with a missing-mailbox phrase.
bool userunknown_holds(const facts& f) {
    if (f.by_mta == reason::userunknown)
        return true;
    if (f.by_status == reason::suspend)
        return false;
    if (f.by_status == reason::userunknown) {
        for (auto other :
             {reason::norelaying, reason::blocked, reason::mailboxfull, reason::hasmoved,
              reason::rejected, reason::notaccept})
            if (says(f, other))
                return false;
        return true;
    }
    if (!says(f, reason::userunknown))
        return false;
    if (f.command == "RCPT")
        return true;
    // Reports that do not say which command failed: an SMTP server's permanent refusal with a
    // status that is not of the mailbox (x.2.x) or policy (x.7.x) classes was, in practice, the
    // answer to RCPT; anything less certain is left to the filter test below, where a wrong
    // answer is a soft bounce rather than a wrongly suppressed address.
    auto subject = f.status.size() >= 3 ? f.status.substr(1, 2) : std::string();
    return f.command.empty() && !f.status.empty() && f.reply_code >= 500 && subject != ".2" &&
           subject != ".7";
}

// A filter's refusal: all MTAs read the message only after DATA, so a refusal of an earlier
// command is never a filter. A bare "user unknown" without RCPT is a filter.
bool filtered_holds(const facts& f) {
    if (f.by_mta == reason::filtered)
        return true;
    if (f.by_status == reason::suspend)
        return false;
    if (f.by_status == reason::filtered)
        return says(f, reason::userunknown) || says(f, reason::filtered);
    if (before_data(f.command))
        return false;
    return says(f, reason::filtered) || says(f, reason::userunknown);
}

// The sender was refused: MAIL refused, or a sender phrase where the status says nothing
// more specific.
bool rejected_holds(const facts& f) {
    if (is(f, reason::rejected))
        return true;
    if (f.command == "MAIL")
        return says(f, reason::rejected);
    if (f.command == "DATA")
        return f.by_status != reason::userunknown && says(f, reason::rejected);
    bool weak_status = !f.by_status || f.by_status == reason::onhold ||
                       f.by_status == reason::securityerror || f.by_status == reason::systemerror;
    return weak_status && says(f, reason::rejected);
}

// One reason's test in the first pass: status or phrase, with the exceptions each reason has.
bool holds(const facts& f, reason r) {
    switch (r) {
        case reason::mesgtoobig:
            if (is(f, r))
                return true;
            return f.by_status != reason::exceedlimit && says(f, r);
        case reason::suspend:
            return f.by_mta == r || f.reply_code == 525 || says(f, r);
        case reason::hasmoved:
        case reason::notcompliantrfc:
        case reason::speeding:
            return f.by_mta == r || says(f, r);
        case reason::norelaying:
            if (f.by_mta == reason::securityerror || f.by_mta == reason::systemerror)
                return false;
            return f.command != "CONN" && f.command != "HELO" && says(f, r);
        case reason::userunknown:
            return userunknown_holds(f);
        case reason::filtered:
            return filtered_holds(f);
        case reason::rejected:
            return rejected_holds(f);
        case reason::hostunknown:
            if (f.by_mta == r)
                return true;
            if (f.by_status == r)
                return !says(f, reason::networkerror);
            return says(f, r);
        case reason::spamdetected:
            if (is(f, r))
                return true;
            return !before_data(f.command) && says(f, r);
        default:
            return is(f, r) || says(f, r);
    }
}

// First pass: reasons a status or a phrase settles, most specific first (Sisimai's order).
constexpr reason first_pass[] = {
    reason::mailboxfull, reason::mesgtoobig,   reason::exceedlimit,     reason::suspend,
    reason::hasmoved,    reason::norelaying,   reason::authfailure,     reason::userunknown,
    reason::filtered,    reason::requireptr,   reason::notcompliantrfc, reason::rejected,
    reason::hostunknown, reason::spamdetected, reason::speeding,        reason::toomanyconn,
    reason::blocked,
};

// Second pass: phrases for reasons a status code says only vaguely.
constexpr reason second_pass[] = {
    reason::mailboxfull, reason::spamdetected, reason::policyviolation, reason::virusdetected,
    reason::norelaying,  reason::authfailure,  reason::badreputation,   reason::securityerror,
    reason::systemerror, reason::networkerror, reason::speeding,        reason::suspend,
    reason::expired,     reason::contenterror, reason::systemfull,      reason::notaccept,
    reason::mailererror,
};

// When the first pass found nothing: the MTA's own reason, the status when it is specific,
// else phrases for the vaguer reasons, then the status class.
std::optional<reason> second_opinion(const facts& f) {
    if (f.by_mta)
        return f.by_mta;
    auto by_status = f.by_status;
    if (by_status && f.smtp && (!provisional(*by_status) || status_settles(*by_status)))
        return by_status;
    for (auto r : second_pass)
        if (says(f, r))
            return r;
    // "X-Unix; 1": the local delivery program failed, whatever vague status came with it.
    if (f.local && (!by_status || provisional(*by_status)))
        return reason::mailererror;
    if (by_status)
        return by_status;
    auto subject = f.status.size() >= 3 ? f.status.substr(1, 2) : std::string();
    if (subject == ".6")
        return reason::contenterror;
    if (subject == ".7")
        return reason::securityerror;
    if (f.local)
        return reason::mailererror;
    // RFC 7504: 556 is the reply of a domain that accepts no mail (null MX, RFC 7505).
    if (f.reply_code == 556)
        return reason::notaccept;
    // 50x: the receiver did not understand the command.
    if ((f.reply_code > 400 && f.reply_code < 408) || (f.reply_code > 500 && f.reply_code < 508))
        return reason::syntaxerror;
    if (f.delayed)
        return reason::expired;
    if (f.command == "HELO" || f.command == "CONN")
        return reason::blocked;
    return std::nullopt;
}

std::string command_of(const evidence& ev, std::string_view text, std::string_view context) {
    if (ev.phase == reply_phase::rcpt)
        return "RCPT";
    if (ev.phase == reply_phase::data)
        return "DATA";
    const auto& r = rules();
    auto command = r.command(text);
    return command.empty() ? r.command(context) : command;
}

facts facts_of(const evidence& ev, std::string_view text, std::string_view context) {
    const auto& r = rules();
    facts f;
    f.text = std::string(text);
    f.command = command_of(ev, text, context);
    f.status = ev.status;
    if (!generic_status(ev.status))
        f.by_status = r.for_status(ev.status);
    f.by_mta = r.lhost(text);
    f.reply_code = ev.reply_code ? ev.reply_code : find_reply_code(text);
    // "X-Unix; 71": not an SMTP reply; "unknown; ..." says nothing either way. Postfix writes
    // "X-Postfix;" for what it says itself about an SMTP delivery (a refused or timed-out
    // connection, a lost session), which reads as a reply.
    f.smtp = !ev.diagnostic_type.starts_with("x-") || ev.diagnostic_type == "x-postfix";
    f.local = ev.diagnostic_type.starts_with("x-unix");
    f.delayed = ev.delayed;
    return f;
}

std::optional<reason> decide_from(const facts& f) {
    if (f.status.starts_with("2."))
        return reason::delivered;
    if (f.by_mta && !provisional(*f.by_mta))
        return f.by_mta;
    if (f.smtp)
        for (auto r : first_pass)
            if (holds(f, r))
                return r;
    return second_opinion(f);
}

// The line that names the recipient ("554 <a@b>... Remote protocol error") speaks for it
// before the lines after it, which may be another recipient's transcript.
std::optional<reason> decide_by_first_line(const evidence& ev, std::string_view context) {
    auto line = normalize(ev.first);
    if (line.empty())
        return std::nullopt;
    auto f = facts_of(ev, line, context);
    auto why = decide_from(f);
    if (why && (f.by_mta == why || rules().says(*why, line)))
        return why;
    return std::nullopt;
}

// A host that cannot be found for now is a DNS or network problem, not a missing domain.
reason refine(reason why, const evidence& ev) {
    bool temporary = ev.delayed || ev.status.starts_with('4') ||
                     (ev.status.empty() && ev.reply_code >= 400 && ev.reply_code < 500);
    if (why == reason::hostunknown && temporary)
        return reason::networkerror;
    return why;
}

// What a bounce says about a recipient fits in a few lines; a diagnostic of megabytes is junk
// or hostile, and matching 1,500 phrases against all of it would only cost time.
std::string bounded(std::string text) {
    constexpr std::size_t max_text = 64 * 1024;
    if (text.size() > max_text)
        text.resize(max_text);
    return text;
}

}  // namespace

reason decide(const evidence& ev) {
    auto own = bounded(normalize(std::string(ev.first) + "\n" + std::string(ev.diagnostic)));
    auto context = bounded(normalize(ev.context));
    // Without a diagnostic of its own, the report's human-readable text is the diagnostic.
    const auto& text = own.empty() ? context : own;
    // What the receiving provider means by its words, when one of its own hosts answered. A
    // reply without an enhanced code says only its class ("5.0.0").
    if (!ev.remote_host.empty() && !ev.status.starts_with("2.")) {
        auto status = ev.status;
        if (status.empty() && ev.reply_code >= 400 && ev.reply_code < 600)
            status = ev.reply_code >= 500 ? "5.0.0" : "4.0.0";
        // A reply heard during delivery comes without its code, which rows may quote.
        auto said = text;
        if (ev.reply_code > 0 && !said.starts_with(std::to_string(ev.reply_code)))
            said = std::to_string(ev.reply_code) + " " + said;
        if (auto why = rules().rhost(ev.remote_host, status, command_of(ev, text, context), said))
            return refine(*why, ev);
    }
    if (auto why = decide_by_first_line(ev, context))
        return refine(*why, ev);
    if (auto why = decide_from(facts_of(ev, text, context)))
        return refine(*why, ev);
    // A report whose own diagnostic settles nothing may explain itself in its human text.
    if (!own.empty() && !context.empty())
        if (auto why = decide_from(facts_of(ev, context, context)))
            return refine(*why, ev);
    if (ev.delayed)
        return reason::expired;
    return own.empty() ? reason::undefined : reason::onhold;
}

// As Sisimai's Reason->get does with an MTA reader's reason: one it does not re-examine stands;
// a provisional one stands unless the words name a reason tried before it in the first pass.
reason settle(reason from_table, reason from_words) {
    if (!provisional(from_table))
        return from_table;
    auto rank = [](reason r) {
        auto at = std::find(std::begin(first_pass), std::end(first_pass), r);
        return static_cast<std::size_t>(at - std::begin(first_pass));
    };
    return rank(from_words) < rank(from_table) ? from_words : from_table;
}

}  // namespace outpost::bounce::detail
