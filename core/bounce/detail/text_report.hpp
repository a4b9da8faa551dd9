// Reading bounces that are not RFC 3464 DSNs: the human-readable report, who it names, and why.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/bounce/detail/mime.hpp"

namespace outpost::bounce::detail {

// Every e-mail address in `text` ("local@domain.tld"), in order, duplicates kept. Local parts
// take the RFC 5322 atext characters and dots; domains need a dot and end without one.
std::vector<std::string> find_addresses(std::string_view text);

// Whether the address is a mail system's own (MAILER-DAEMON, postmaster), never a recipient.
bool daemon_address(std::string_view address);

// The lines of `text` about `address`: from the line that first names it up to the next line
// that names one of `others`; "" when the text does not name it.
std::string lines_about(
    std::string_view text, std::string_view address, const std::vector<std::string>& others
);

// The first address in a header or DSN field value ("Name <a@b>", "rfc822; a@b"); "" when none.
std::string first_address(std::string_view value);

// An RFC 3463 code ("5.1.1") in the text: the first token of the form C.S.D with C in 4 or 5,
// S in 0 to 7 and D of one to three digits
// (and 2 when `success` is set); "" when none.
std::string find_status(std::string_view text, bool success = false);

// A three-digit SMTP reply code (4xx, 5xx) at a word start in the text; 0 when none.
int find_reply_code(std::string_view text);

// The receiving host a report names as the one that answered: Postfix's "host mx.example.com
// [192.0.2.1] said:", Exim's "host mx.example.com [192.0.2.1]:", Sendmail's "... while talking
// to mx.example.com.:", or a Remote-MTA value ("mx.example.com [192.0.2.1]"). Lower case, without
// a final dot; "" when none.
std::string remote_host_in(std::string_view text);

// The human-readable report of a bounce: the text parts before any enclosed message, decoded to
// UTF-8 (HTML reduced to its text), cut at the line that starts the returned original message
// (a `marker` rule, or the first header line of an inline copy).
struct text_report {
    std::string text;
    std::string original;  // what follows the cut, when the original message is inline
};

text_report read_report(const entity& message);

// A recipient the report names and the lines that concern it.
struct named_recipient {
    std::string address;
    std::string line;  // the report line that first names it ("554 <a@b>... Host unknown")
    std::string text;
};

// The recipients of a non-standard bounce: X-Failed-Recipients when present, else addresses that
// start a report line (qmail "<a@b>:", Exim "  a@b", Sendmail "554 <a@b>...", ...), else any
// address in the report, else the To: of the returned message. The bounce's own sender and
// recipient, the returned message's sender and daemon addresses (postmaster, MAILER-DAEMON) are
// never recipients. Each gets the report lines from its first mention up to the next
// recipient's; the whole report when that cannot be told.
std::vector<named_recipient> name_recipients(const entity& message, const text_report& report);

}  // namespace outpost::bounce::detail
