// DKIM signing (RFC 6376 §5, RFC 8463): DKIM-Signature fields for a message and a set of keys.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/container/small_vector.hpp>

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

namespace detail {

// sign_options made ready for signing many messages alike: the h= names worked out once.
struct prepared_options {
    struct name {
        std::string text;  // lower case
        bool oversigned = false;
    };

    // Each name once, in h= order: "from" unless configured, the configured names, then the
    // over-signed names not configured.
    std::vector<name> names;
    // The indexes into names by name length, so that select_headers compares a field with the
    // few names of its length only: by_length[length_start[n], length_start[n + 1]) for names n
    // bytes long, the last n standing for all longer ones.
    static constexpr std::size_t indexed_lengths = 32;
    std::vector<std::uint32_t> by_length;
    std::array<std::uint32_t, indexed_lengths + 1> length_start{};
    std::optional<std::int64_t> expiration;
    canonicalization header_canon = canonicalization::relaxed;
    canonicalization body_canon = canonicalization::relaxed;
};

prepared_options prepare(const sign_options& options);

// h= for prepared names and the fields it selects (§5.4.2), in one pass: per name, each instance
// present from the bottom up, then once more, selecting nothing, when over-signed. The same as
// select_fields(fields, h), since every name is listed once. A typical selection fits the small
// vectors' inline room, which saves two allocations per signature.
struct header_selection {
    boost::container::small_vector<std::string_view, 40> h;  // views of the prepared names
    boost::container::small_vector<const message::header_field*, 24> fields;
};

header_selection select_headers(
    std::span<const message::header_field> fields, const prepared_options& options
);

// make_signature with prepared options and t= given apart; the key's parts are only read.
std::string make_signature(
    std::span<const message::header_field> fields,
    const sha256_digest& body_hash,
    std::string_view domain,
    std::string_view selector,
    const private_key& key,
    const prepared_options& options,
    std::int64_t time
);

}  // namespace detail

// Every key's DKIM-Signature field, in keys order, concatenated; the body is hashed once. Empty
// when keys is empty or OpenSSL fails.
std::string sign(
    const message::message_view& message,
    std::span<const signing_key> keys,
    const sign_options& options
);

}  // namespace outpost::dkim
