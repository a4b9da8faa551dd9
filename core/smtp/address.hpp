// RFC 5321 paths and mailboxes (with RFC 6531 UTF-8 when SMTPUTF8 is in use).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace outpost::smtp {

struct mailbox {
    std::string local;   // as sent, quotes included when quoted
    std::string domain;  // as sent; use domain_key() to compare or route

    std::string text() const { return local + "@" + domain; }

    // Lower-cased domain for routing and look-ups; the local part is never case-folded (RFC 5321
    // §2.4).
    std::string domain_key() const;
};

enum class path_error {
    syntax,      // not a path at all
    too_long,    // local part > 64, domain > 255 or path > 256 octets (RFC 5321 §4.5.3.1)
    needs_utf8,  // non-ASCII without SMTPUTF8 (RFC 6531 §3.4)
};

struct parsed_path {
    bool null = false;  // "<>"
    mailbox box;
};

// Parses "<local@domain>", "<>" or, leniently, "local@domain" without brackets. A source route
// ("<@a,@b:user@c>") is accepted and ignored (RFC 5321 §4.1.2). Returns the error otherwise.
struct path_result {
    std::optional<parsed_path> path;
    path_error error = path_error::syntax;
};

path_result parse_path(std::string_view text, bool utf8_allowed);

// Whether a mailbox (or an RFC 5322 message) needs SMTPUTF8: any byte >= 0x80.
bool has_non_ascii(std::string_view s);

}  // namespace outpost::smtp
