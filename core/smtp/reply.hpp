// An SMTP reply as a value: code, enhanced status code (RFC 3463) and text.
#pragma once

#include <string>
#include <string_view>

namespace outpost::smtp {

struct reply {
    int code = 0;          // 250, 451, 550, ...
    std::string enhanced;  // "2.1.0"; empty where RFC 2034 has none (greeting, EHLO)
    std::string text;      // lines separated by '\n', without CRLF
    // Composed by Outpost about a session (TLS required but not offered, a lost connection), not
    // said by the receiver: it tells nothing about how the receiver wants to be treated.
    bool local = false;

    bool positive() const { return code >= 200 && code < 400; }

    bool transient() const { return code >= 400 && code < 500; }

    bool permanent() const { return code >= 500; }

    // The reply on the wire: "250-first\r\n250 2.0.0 last\r\n"; every line carries the enhanced
    // code when there is one.
    std::string wire() const;
    // One line for logs: "550 5.1.1 user unknown" (lines joined with " / ").
    std::string summary() const;
};

}  // namespace outpost::smtp
