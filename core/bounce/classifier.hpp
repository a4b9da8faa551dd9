// Bounce classification: SMTP replies and bounce messages in, a reason per recipient out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/bounce/reason.hpp"
#include "core/smtp/reply.hpp"

namespace outpost::bounce {

struct classification {
    std::string recipient;  // as the bounce names it; empty for a classified reply
    std::string status;     // RFC 3463 code; derived from the reason when the bounce has none
    reason why = reason::undefined;
    severity hardness = severity::soft;
    std::string diagnostic;       // the text the reason was read from, on one line
    bool status_derived = false;  // status was not in the bounce but derived (x.0.9xx or class)
};

// The command a synchronous reply answered. A bare "user unknown" means a missing mailbox at
// RCPT, and a content filter's refusal after DATA.
enum class reply_phase { rcpt, data, other };

// Classifies a synchronous reply to RCPT, DATA or end of data. A positive reply is `delivered`.
// The enhanced code is taken from the reply, or from the start of its text, or derived.
// `remote_host`, the name of the host that answered, lets its provider's `rhost` rows decide.
classification classify(
    const smtp::reply& r, reply_phase phase = reply_phase::rcpt, std::string_view remote_host = {}
);

// Classifies a whole bounce message: an RFC 3464 DSN, an ARF report (RFC 5965, reason
// `feedback`), an auto-reply (RFC 3834, `vacation`), or one of the non-standard formats the rules
// cover. Returns one entry per recipient the bounce names, in order; empty when it names none.
std::vector<classification> classify_message(std::string_view message);

}  // namespace outpost::bounce
