// DKIM simple and relaxed canonicalization of header fields and bodies (RFC 6376 §3.4).
#pragma once

#include <cstddef>
#include <span>
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

// The canonical body (§3.4.3, §3.4.4), produced a buffer at a time. Simple: trailing empty lines
// removed, one CRLF at the end (an empty body becomes CRLF). Relaxed: WSP at line ends removed,
// other WSP runs as one SP, trailing empty lines removed, a CRLF added to a non-empty last line; an
// empty body stays empty. Lines end in CRLF; a bare CR or LF is an ordinary byte. Keeps a view of
// body, which must outlive it.
class body_canonicalizer {
public:
    body_canonicalizer(canonicalization c, std::string_view body);

    // Writes the next canonical bytes to out and returns how many: out.size() or fewer, 0 once the
    // whole canonical body has been read. out must hold at least 2 bytes.
    std::size_t read(std::span<char> out);

private:
    std::size_t read_relaxed(char* out, std::size_t size);

    canonicalization c_;
    std::string_view body_;
    std::size_t end_;      // one past the last byte that survives the trailing cuts
    std::size_t pos_ = 0;  // next byte of body_ to read
    bool done_ = false;    // the final CRLF is written (or, for an empty relaxed body, not due)
};

// The canonical body as a string (tests and small bodies).
std::string canonical_body(canonicalization c, std::string_view body);

namespace detail {

// canonicalize_header and canonicalize_header_text writing at out instead, for callers that size
// one buffer for many fields: each writes at most its bound's bytes and returns one past the end.
char* write_canonical_header(canonicalization c, const message::header_field& f, char* out);
char* write_canonical_header_text(canonicalization c, std::string_view field, char* out);

// "name:" and CRLF around the value at most; a field without a colon gains the colon.
inline std::size_t canonical_header_bound(const message::header_field& f) {
    return f.raw.size() + 3;
}

inline std::size_t canonical_header_text_bound(std::string_view field) {
    return field.size() + 1;
}

}  // namespace detail

}  // namespace outpost::dkim
