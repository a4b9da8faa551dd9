// DKIM simple and relaxed canonicalization of header fields and bodies (RFC 6376 §3.4).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/message/header.hpp"

namespace outpost::dkim {

enum class canonicalization { simple, relaxed };

const char* to_string(canonicalization c);

// Appends the canonical form of one header field, with its final CRLF, to out. Relaxed (§3.4.2):
// lower-case name, unfolded value, WSP runs as one SP, no WSP around the colon or at the end.
// Simple (§3.4.1): the field as is.
void canonicalize_header(canonicalization c, const message::header_field& f, std::string& out);

// The same for a field given as text "Name: value" (without a final CRLF), as a signer or verifier
// sees its own DKIM-Signature with b= emptied. Simple keeps the text as is and adds no CRLF;
// relaxed adds none either, since RFC 6376 §3.7 hashes this last field without its CRLF.
void canonicalize_header_text(canonicalization c, std::string_view field, std::string& out);

// Feeds the canonical body (§3.4.3, §3.4.4) to sink as a few string_views of either the original
// bytes or short constants, without copying the body. Simple: trailing empty lines removed, one
// CRLF at the end (an empty body becomes CRLF). Relaxed: WSP at line ends removed, other WSP runs
// as one SP, trailing empty lines removed, a CRLF added to a non-empty last line; an empty body
// stays empty. Lines end in CRLF; a bare CR or LF is an ordinary byte.
template <class Sink>
void canonicalize_body(canonicalization c, std::string_view body, Sink&& sink);

// The canonical body as a string (tests and small bodies).
std::string canonical_body(canonicalization c, std::string_view body);

namespace detail {

inline bool is_wsp(char ch) {
    return ch == ' ' || ch == '\t';
}

// One past the last byte that survives the removal of trailing WSP and empty lines: trailing CRLF
// pairs for simple, trailing CRLF pairs and WSP for relaxed.
inline std::size_t body_end(canonicalization c, std::string_view body) {
    std::size_t end = body.size();
    while (end > 0) {
        if (end >= 2 && body[end - 2] == '\r' && body[end - 1] == '\n')
            end -= 2;
        else if (c == canonicalization::relaxed && is_wsp(body[end - 1]))
            --end;
        else
            break;
    }
    return end;
}

}  // namespace detail

template <class Sink>
void canonicalize_body(canonicalization c, std::string_view body, Sink&& sink) {
    static constexpr std::string_view crlf = "\r\n";
    const std::size_t end = detail::body_end(c, body);
    if (c == canonicalization::simple) {
        if (end > 0)
            sink(body.substr(0, end));
        sink(crlf);
        return;
    }
    if (end == 0)
        return;
    // The output is the input with a few edits, so unchanged spans go to the sink as views; only
    // WSP runs that are not a single SP, and WSP before a line end, break a span (§3.4.4).
    std::size_t span = 0;
    std::size_t i = 0;
    const char* p = body.data();
    while (i < end) {
        if (!detail::is_wsp(p[i])) {
            ++i;
            continue;
        }
        std::size_t j = i + 1;
        while (j < end && detail::is_wsp(p[j]))
            ++j;
        // end never falls inside trailing WSP, so j < end here; a CRLF at j ends the line.
        bool at_line_end = p[j] == '\r' && j + 1 < end && p[j + 1] == '\n';
        if (at_line_end) {
            if (i > span)
                sink(body.substr(span, i - span));
            span = j;
        } else if (j - i > 1 || p[i] != ' ') {
            if (i > span)
                sink(body.substr(span, i - span));
            sink(std::string_view(" ", 1));
            span = j;
        }
        i = j;
    }
    if (end > span)
        sink(body.substr(span, end - span));
    sink(crlf);
}

}  // namespace outpost::dkim
