// Suppression exports of other senders (Amazon SES, Postmark, SendGrid) read as our entries, so
// that an operator migrating to Outpost keeps the addresses that must not be mailed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/suppression/csv.hpp"

namespace outpost::suppression {

// Which export a header (or, without one, the first record) looks like.
enum class foreign_format {
    ses,       // ListSuppressedDestinations / console export: EmailAddress,Reason,LastUpdateTime;
               // also the headerless bulk-import file: ADDRESS,BOUNCE|COMPLAINT
    postmark,  // suppression dump: EmailAddress,SuppressionReason,Origin,CreatedAt
    sendgrid,  // bounces (email,created,reason,status), blocks, spam reports (…,ip), unsubscribes
};

std::string_view to_string(foreign_format f);

// The format whose columns these are; nullopt when they are not one of the three (our own
// export is not foreign).
std::optional<foreign_format> detect_foreign(const std::vector<std::string>& header);

// Reads doc (its first record the header, except for SES's headerless bulk file) as format.
// Per row: the address (invalid: a problem); the reason mapped onto ours ("bounce" for a hard
// or soft bounce, "feedback" for a complaint or spam report, "unsubscribe", "manual"), or for a
// free-text SMTP reply "bounce" with its enhanced code as the status; the kind soft for a soft
// bounce or a 4.x.x status, else hard; the time given (unix seconds, ISO 8601 with Z or an
// offset, "YYYY-MM-DD HH:MM:SS" as UTC, or a date) as first and last seen, else now; count 1.
// Problems come in the order found (doc's, then the rows'); read_csv_entries() sorts them.
csv_import read_foreign_entries(
    const csv_document& doc, foreign_format format, const csv_import_options& options
);

// Times as these exports write them; nullopt for anything else or an impossible date.
std::optional<std::int64_t> parse_foreign_time(std::string_view text);

}  // namespace outpost::suppression
