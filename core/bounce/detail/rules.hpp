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
//   text     REASON  substring of the normalized diagnostic text
//   regex    REASON  ECMAScript regular expression over the normalized diagnostic text
//   status   REASON  an RFC 3463 code ("5.1.1") or a subject-detail pair for any class ("x.1.1")
//   pseudo   REASON  the detail number of the status derived for REASON ("911" -> 5.0.911)
//   marker   -       a line that starts the returned original message ("----- original message")
//   autoreply -      a Subject: that marks an auto-reply ("out of office")
//   delayed  -       text saying the message is only delayed, so the status is temporary
//   refusal  -       a recipient refusal that does not say why ("user unknown", "no such user"):
//                    userunknown when refused at RCPT or with a x.1.x status, filtered otherwise
//   rcptphase -      text saying the refusal came in reply to RCPT TO
//   dataphase -      text saying the refusal came after DATA (a "user unknown" there is a filter)
struct rule {
    std::string kind;
    reason why = reason::undefined;
    std::string pattern;  // normalized (text, marker, autoreply, delayed) or as written
    std::optional<std::regex> compiled;
    int line = 0;  // in rules.tsv, for messages about the table itself
};

class rule_set {
public:
    // Parses a rules table. Malformed rows (unknown kind or reason, bad regex, missing column) are
    // reported in errors() and skipped, so one bad row never disables classification.
    explicit rule_set(std::string_view tsv);

    // The first text, regex or refusal rule, in table order, that matches the normalized text;
    // nullopt when none does. A refusal row yields userunknown with `refusal` set.
    struct match_result {
        reason why;
        bool refusal;
    };

    std::optional<match_result> match(std::string_view normalized_text) const;
    // The reason an RFC 3463 code names on its own: an exact status row, then an "x.S.D" row.
    std::optional<reason> for_status(std::string_view status) const;
    // "5.0.911" for userunknown: Sisimai's convention for a status derived from the reason.
    std::string pseudo_status(reason r, bool temporary) const;
    // Whether a (normalized) line starts the returned original message.
    bool is_marker(std::string_view normalized_line) const;
    // Whether a (normalized) Subject: marks an auto-reply.
    bool is_autoreply(std::string_view normalized_subject) const;
    // Whether the (normalized) text says delivery is only delayed, not given up.
    bool is_delayed(std::string_view normalized_text) const;
    // Whether the (normalized) text says the refusal came in reply to DATA or end of data.
    bool is_data_phase(std::string_view normalized_text) const;
    // Whether the (normalized) text says the refusal came in reply to RCPT TO.
    bool is_rcpt_phase(std::string_view normalized_text) const;

    const std::vector<std::string>& errors() const { return errors_; }

    std::size_t size() const { return rules_.size(); }

private:
    bool any(std::string_view kind, std::string_view text, bool prefix) const;

    std::vector<rule> rules_;
    std::vector<std::string> errors_;
};

// The table compiled in from core/bounce/rules.tsv.
std::string_view embedded_rules();

// The rule set built from embedded_rules(), parsed on first use.
const rule_set& rules();

}  // namespace outpost::bounce::detail
