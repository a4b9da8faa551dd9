// SMTP command lines as values: the verb, MAIL/RCPT paths and ESMTP parameters, xtext.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outpost::smtp {

enum class verb {
    ehlo,
    helo,
    mail,
    rcpt,
    data,
    bdat,
    rset,
    noop,
    quit,
    vrfy,
    expn,
    help,
    starttls,
    auth,
    unknown
};

struct command {
    verb name = verb::unknown;
    std::string_view args;  // after the verb and one space, trailing spaces removed
};

// Splits a command line (without CRLF) into verb and arguments; verbs are case-insensitive.
command parse_command(std::string_view line);

// "MAIL FROM:<a@b> SIZE=10" → path "<a@b>" and parameters; the prefix ("FROM:" or "TO:") is matched
// case-insensitively and a space after the colon is tolerated.
struct path_and_params {
    std::string_view path;
    std::vector<std::pair<std::string, std::string>> params;  // keyword upper-cased, value as sent
};

std::optional<path_and_params> split_path_and_params(
    std::string_view args, std::string_view prefix
);

// RFC 3461 §4: xtext ("+2B" escapes); nullopt when malformed.
std::optional<std::string> decode_xtext(std::string_view s);
// decode_xtext for the values DSNs repeat (ENVID, ORCPT's address, RFC 3461 §4.2 and §4.4):
// nullopt unless every decoded character is printable US-ASCII (space to tilde). An escaped
// CR, LF or NUL would otherwise end up raw in a DSN header, a smuggled line.
std::optional<std::string> decode_printable_xtext(std::string_view s);
std::string encode_xtext(std::string_view s);

}  // namespace outpost::smtp
