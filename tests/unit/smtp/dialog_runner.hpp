// Replays tests/data/dialogs/*.dialog against smtp::session (the same files an integration test can
// replay against a live outpostd).
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "core/smtp/session.hpp"

namespace outpost::test {

// Dialog format, one directive per line:
//   # options: trusted auth=required tls=starttls|implicit max_errors=N max_recipients=N
//              max_size=N max_line=N bounce=DOMAIN     (first line, optional)
//   C: text      client sends text + CRLF
//   C! text      client sends text with \r \n \t \xNN escapes, no CRLF added
//   S: prefix    the next reply line starts with prefix
//   M: text      the last accepted message is exactly text (escapes as in C!)
//   R: a,b       the last accepted message's recipients
//   X: closed    the session has closed
// AUTH succeeds for user "alice" with password "secret"; TLS "starts" at once.
struct dialog_result {
    bool ok = true;
    std::string failure;  // first mismatch, with the line number
};

dialog_result run_dialog(const std::string& text);
std::string unescape(const std::string& s);

}  // namespace outpost::test
