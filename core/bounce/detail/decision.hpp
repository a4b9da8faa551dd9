// The decision of a bounce reason from what a bounce says about one recipient: the SMTP reply
// code, the RFC 3463 status, MTA-specific phrases and the diagnostic text, in that order of trust.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/bounce/classifier.hpp"
#include "core/bounce/reason.hpp"

namespace outpost::bounce::detail {

// "5.0.0" and "4.0.0": they say only permanent or temporary.
bool generic_status(std::string_view status);

// "5.0.0" and "5.1.0" ("other address status"): a DSN's Status: that the diagnostic often
// states more precisely ("5.1.0 ... 550-'5.7.1 Access denied'").
bool vague_status(std::string_view status);

// The status in the text that says most: the first that is not vague ("5.1.0 - Unknown address
// error 550-'5.7.1 ... Access denied'" says 5.7.1), else the first that says more than
// `status`; "" when none.
std::string specific_status(std::string_view text, std::string_view status);

// Reasons that weaker evidence says too readily ("system error", "unknown user"): a more
// specific reason found elsewhere replaces them (Sisimai's Reason->retry list).
bool provisional(reason r);

// Where an MTA's own table (a status code, a category or a phrase of its reports) and what the
// words say disagree: the table, unless it names only a provisional reason and the words a reason
// the first pass tries before it.
reason settle(reason from_table, reason from_words);

// What a bounce says about one recipient, from the most to the least trusted.
struct evidence {
    std::string_view first;       // the line that names the recipient, when it says more
    std::string_view diagnostic;  // the recipient's own text: Diagnostic-Code or report lines
    std::string_view context;     // the rest of the report: human-readable text, subject
    std::string status;           // RFC 3463 code, "" when none
    int reply_code = 0;           // SMTP reply code, 0 when none
    std::string diagnostic_type;  // "smtp", "x-unix", ...; "" when not given
    bool delayed = false;
    std::optional<reply_phase> phase;  // known for synchronous replies
    std::string remote_host = {};      // the receiving host that answered, "" when unknown
};

// The reason: the status and the reply code first, then MTA-specific phrases, then the phrases
// of each reason in a fixed order (rules.tsv), then the rest of the report; `undefined` only
// when nothing says anything, `onhold` when the recipient's own text names no reason.
reason decide(const evidence& ev);

}  // namespace outpost::bounce::detail
