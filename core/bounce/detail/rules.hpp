// The classification rules: core/bounce/rules.tsv, compiled in, parsed once.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/bounce/reason.hpp"

namespace outpost::bounce::detail {

// Lower-cases ASCII and collapses every run of white space to one space, so that patterns match
// across folded and wrapped lines. Non-ASCII bytes are kept as they are.
std::string normalize(std::string_view text);

// One row of rules.tsv. `kind` says how `pattern` is used:
//   text     REASON   substring of the normalized diagnostic text that says REASON
//   pair     REASON   fragments separated by " | " that must all occur, in that order
//   regex    REASON   ECMAScript regular expression over the normalized text (use sparingly)
//   isnot    REASON   substring that vetoes the REASON phrases ("recipient address rejected" is
//                     no sender refusal even though it contains "address rejected")
//   lhost    REASON   a phrase only one MTA or provider writes, with the reason that MTA means
//                     by it (Exchange NDR codes, Exim internal messages, carrier texts); it
//                     decides unless it only says "unknown user/host", "system/security error",
//                     "expired", "suspended" or "on hold", which other evidence may refine.
//                     An optional fourth column names the MTAs that write it ("exim,qmail")
//   lhostre  REASON   the same as a regular expression (error-code schemes such as "LPN007_416")
//   status   REASON   an RFC 3463 code ("5.1.1") or a subject-detail pair for both classes
//                     ("x.1.1"); exact codes win over "x." rows
//   command  COMMAND  text saying which SMTP command was refused (RCPT, DATA, MAIL, HELO, CONN):
//                     the column holds the command, not a reason
//   pseudo   REASON   the detail number of the status derived for REASON ("911" -> 5.0.911)
//   marker   -        a line that starts the returned original message ("----- original message")
//   autoreply -       a Subject: that marks an auto-reply ("out of office")
//   bounce   -        a Subject: that marks a bounce ("undeliverable", "returned mail")
//   delayed  -        text saying the message is only delayed, so the status is temporary
//   mtastatus REASON  a status code (ECMAScript expression over "5.7.501") that one MTA's own
//                     reports use in a meaning of their own, applied to reports that MTA wrote;
//                     a fourth column names it ("office365")
//   mtatext  REASON   a phrase that means REASON in the reports of the MTA in the fourth column
//                     (detected from their headers), and may mean less elsewhere
//   category REASON   a bounce category an MTA writes into its reports, with the MTA in a
//                     fourth column ("bad-mailbox", "powermta")
//   rhost    REASON   what one receiving provider means, when its own hosts refused the mail:
//                     rhost REASON PROVIDER HOSTS STATUS COMMAND PHRASE, "-" for any of the
//                     last three. HOSTS: comma-separated names, each matching itself and its
//                     subdomains ("docomo.ne.jp" matches "mfsmax.docomo.ne.jp"). Such a row
//                     decides before every other kind; for texts that mean one thing at one
//                     provider and another elsewhere ("550 Unknown user" after DATA at NTT
//                     DOCOMO is the recipient refusing the sender).
struct rule {
    std::string kind;
    // How the pattern matches, decided once from the kind: a substring, ordered fragments or a
    // regular expression.
    enum class match_kind { substring, fragments, expression } matching = match_kind::substring;
    reason why = reason::undefined;
    std::string command;                 // for `command` rows
    std::string pattern;                 // normalized, except status/pseudo/regex
    std::vector<std::string> fragments;  // for `pair` rows
    std::vector<std::string> mtas;       // for `lhost` and `rhost` rows: who writes the phrase
    std::vector<std::string> hosts;      // for `rhost` rows: the provider's receiving hosts
    std::string status;                  // for `rhost` rows: the status it needs, "" for any
    std::optional<std::regex> compiled;
    // For regex rows: literals of which one must occur for the expression to match, read from
    // its start ("\bspf\b..." needs "spf", "\b(lpn|ofr)_..." needs "lpn" or "ofr"), so
    // that the matcher runs only on texts that can match; empty when none can be told.
    std::vector<std::string> guards;
    int line = 0;  // in rules.tsv, for messages about the table itself
};

class rule_set {
public:
    // Parses a rules table. Malformed rows (unknown kind or reason, bad regex, missing column) are
    // reported in errors() and skipped, so one bad row never disables classification.
    explicit rule_set(std::string_view tsv);

    // Whether the normalized text carries a phrase (text, pair or regex row) for `why`, and no
    // `isnot` phrase vetoes it.
    bool says(reason why, std::string_view normalized_text) const;

    // The first reason, in table order, whose phrases the normalized text carries; nullopt when
    // none does. For tests and tools; the classifier asks says() in its own order.
    struct match_result {
        reason why;
    };

    std::optional<match_result> match(std::string_view normalized_text) const;
    // The reason an MTA-specific (`lhost`) phrase in the normalized text names; nullopt when none.
    std::optional<reason> lhost(std::string_view normalized_text) const;
    // The reason an `mtastatus` row gives for this status in a report `mta` wrote (a status
    // code table of its own, such as Office 365's); nullopt when none applies.
    std::optional<reason> mta_status(std::string_view mta, std::string_view status) const;
    // The reason a `category` row gives for a bounce category an MTA names in its reports
    // (PowerMTA's X-PowerMTA-BounceCategory: bad-mailbox); nullopt when none applies.
    std::optional<reason> category(std::string_view mta, std::string_view name) const;
    // The reason an `mtatext` row gives for a phrase in a report `mta` wrote; nullopt when none.
    std::optional<reason> mta_text(std::string_view mta, std::string_view normalized) const;
    // The reason a `rhost` row gives for a refusal by `host` (lower case) with this status,
    // refused command and normalized text; nullopt when none applies.
    std::optional<reason> rhost(
        std::string_view host,
        std::string_view status,
        std::string_view command,
        std::string_view normalized_text
    ) const;
    // The SMTP command the text says was refused, the one named last; "" when none.
    std::string command(std::string_view normalized_text) const;
    // The reason an RFC 3463 code names on its own: an exact status row, then an "x.S.D" row.
    std::optional<reason> for_status(std::string_view status) const;
    // "5.0.911" for userunknown: Sisimai's convention for a status derived from the reason.
    std::string pseudo_status(reason r, bool temporary) const;
    // Whether a (normalized) line starts the returned original message.
    bool is_marker(std::string_view normalized_line) const;
    // Whether a (normalized) Subject: marks an auto-reply.
    bool is_autoreply(std::string_view normalized_subject) const;
    // Whether a (normalized) Subject: marks a bounce.
    bool is_bounce_subject(std::string_view normalized_subject) const;
    // Whether the (normalized) text says delivery is only delayed, not given up.
    bool is_delayed(std::string_view normalized_text) const;

    const std::vector<std::string>& errors() const { return errors_; }

    std::size_t size() const { return rules_.size(); }

private:
    void add(rule r);
    bool any(std::string_view kind, std::string_view text, bool prefix) const;
    static bool phrase_in(const rule& r, std::string_view text);
    const std::vector<std::size_t>& of_kind(std::string_view kind) const;

    std::vector<rule> rules_;
    // Indexes into rules_ by kind, in table order: classification asks for one kind at a time.
    std::vector<std::pair<std::string, std::vector<std::size_t>>> kinds_;
    // Indexes into rules_ of the phrase (text, pair, regex) and isnot rows of each reason.
    std::vector<std::vector<std::size_t>> phrases_;
    std::vector<std::vector<std::size_t>> vetoes_;
    std::vector<std::string> errors_;
};

// The table compiled in from core/bounce/rules.tsv.
std::string_view embedded_rules();

// The rule set built from embedded_rules(), parsed on first use, or the one a scoped_rules on
// this thread has put in its place.
const rule_set& rules();

// Makes rules() return `replacement` on this thread while it lives, so that a test can measure
// what some rows contribute (the dev-set test scores each MTA's bounces without that MTA's rows).
class scoped_rules {
public:
    explicit scoped_rules(const rule_set& replacement);
    ~scoped_rules();
    scoped_rules(const scoped_rules&) = delete;
    scoped_rules& operator=(const scoped_rules&) = delete;

private:
    const rule_set* previous_;
};

// The table without the lhost rows whose fourth column names `mta`, and the rhost rows of that
// provider.
std::string rules_without(std::string_view tsv, std::string_view mta);

}  // namespace outpost::bounce::detail
