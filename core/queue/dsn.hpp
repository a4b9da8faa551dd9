// Delivery status notifications (RFC 3464 multipart/report, RFC 3461 parameters), composed as
// pure functions from the spool record and the per-recipient outcomes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/smtp/envelope.hpp"
#include "core/spool/record.hpp"

namespace outpost::queue {

enum class dsn_action { failed, delayed };

struct dsn_recipient {
    std::size_t index = 0;   // into the record's recipients
    std::string status;      // RFC 3463, "5.1.1"
    std::string diagnostic;  // the remote reply, "550 5.1.1 No such user", or a local reason
    std::string remote_mta;  // host name, empty when none answered
    std::int64_t last_attempt = 0;
};

struct dsn_settings {
    std::string hostname;  // Reporting-MTA and the From: domain
};

// Whether the sender asked for (or by default gets) a DSN of this kind for this recipient:
// failures unless NOTIFY excludes FAILURE, delays only with NOTIFY=DELAY explicitly (RFC 3461
// §4.1 lets the MTA choose the default; Postfix also sends delays only on request), never with
// NOTIFY=NEVER, never to the null sender.
bool wants_dsn(const smtp::envelope& env, const smtp::recipient& r, dsn_action action);

struct composed_dsn {
    smtp::envelope envelope;  // MAIL FROM:<>, RCPT TO: the original sender
    std::string content;      // the whole message, CRLF lines
};

// The bounced recipients of a spooled message that no DSN has reported yet (no "dsn" line names
// them), for a restart that came between the bounce and its DSN: the status from the reply's
// enhanced code (4.4.7 for an expiry), the reply as the diagnostic. Recipients dropped for the
// suppression list ("not sent: ...") get no DSN, as at delivery.
std::vector<dsn_recipient> unreported_bounces(const spool::record& rec);

// message is the original message bytes as spooled. nullopt when no DSN is due (null sender, or
// no recipient wants one).
std::optional<composed_dsn> compose_dsn(
    const dsn_settings& s,
    const spool::record& original,
    std::string_view message,
    const std::vector<dsn_recipient>& recipients,
    dsn_action action,
    std::int64_t now
);

}  // namespace outpost::queue
