// DKIM signing (RFC 6376 §5, RFC 8463): DKIM-Signature fields for a message and a set of keys.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/dkim/detail/canonicalize.hpp"
#include "core/dkim/key.hpp"
#include "core/message/header.hpp"

namespace outpost::dkim {

// A key as a signer uses it: d= and s= with the private key.
struct signing_key {
    std::string domain;    // d=
    std::string selector;  // s=
    private_key key;
};

// The header fields Outpost signs unless configured otherwise, and those it over-signs (lists
// once more than present, so that nobody can add one later without breaking the signature,
// RFC 6376 §8.15).
const std::vector<std::string>& default_signed_headers();
const std::vector<std::string>& default_oversigned_headers();

struct sign_options {
    std::int64_t time = 0;                   // t=, unix seconds; always written
    std::optional<std::int64_t> expiration;  // x= is t= plus this many seconds, when set
    std::vector<std::string> headers = default_signed_headers();       // lower case
    std::vector<std::string> oversign = default_oversigned_headers();  // lower case
    canonicalization header_canon = canonicalization::relaxed;
    canonicalization body_canon = canonicalization::relaxed;
};

// The h= list for these fields: each configured name once per instance present, plus once more
// for over-signed names. "from" is always in it (RFC 6376 §5.4).
std::vector<std::string> signed_header_list(
    std::span<const message::header_field> fields, const sign_options& options
);

// One DKIM-Signature field, folded, ending in CRLF, for a body whose canonical hash is known
// (compute it once per canonicalization and reuse it for every key). Never writes l=. Empty
// only when OpenSSL fails to sign.
std::string make_signature(
    std::span<const message::header_field> fields,
    const sha256_digest& body_hash,
    const signing_key& key,
    const sign_options& options
);

// Every key's DKIM-Signature field, in keys order, concatenated; the body is hashed once. Empty
// when keys is empty or OpenSSL fails.
std::string sign(
    const message::message_view& message,
    std::span<const signing_key> keys,
    const sign_options& options
);

}  // namespace outpost::dkim
