// RFC 3464 delivery status notifications: the machine-readable fields of a bounce.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::bounce {

// RFC 3464 §2.3: the per-recipient fields, values unfolded, the address-type and
// diagnostic-type prefixes ("rfc822;", "smtp;") removed.
struct dsn_recipient {
    std::string final_recipient;     // the address, without angle brackets
    std::string original_recipient;  // ORCPT, when given
    std::string action;           // failed | delayed | delivered | relayed | expanded, lower-case
    std::string status;           // "5.1.1", as written (comments dropped)
    std::string diagnostic_type;  // "smtp", "x-unix", lower-case
    std::string diagnostic_code;  // "550 5.1.1 <a@b>: user unknown"
    std::string remote_mta;       // "mx.example.com"
    std::string bounce_category;  // PowerMTA's X-PowerMTA-BounceCategory ("bad-mailbox")

    // final_recipient, or original_recipient when that is all there is or when only it is a mail
    // address ("Final-Recipient: rfc822; kijitora" names a local user).
    const std::string& address() const {
        bool final_is_address = final_recipient.find('@') != std::string::npos;
        bool original_is_address = original_recipient.find('@') != std::string::npos;
        return final_recipient.empty() || (!final_is_address && original_is_address)
                   ? original_recipient
                   : final_recipient;
    }
};

struct dsn {
    std::string reporting_mta;
    std::vector<dsn_recipient> recipients;
    std::string human_text;  // the first text part, decoded, for reasons the fields do not give
    std::string subject;     // of the report itself, RFC 2047-decoded
};

// Parses a whole message. nullopt when it has no message/delivery-status (or
// message/global-delivery-status) part; a part that is there but broken yields the recipients
// that could be read, possibly none. Never throws on bad input.
std::optional<dsn> parse_dsn(std::string_view message);

}  // namespace outpost::bounce
