// Building blocks shared by DKIM signing, verification and ARC: header selection (RFC 6376
// §5.4.2), the data a signature covers (§3.7), body hashes (§3.7) and field folding.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dkim/detail/canonicalize.hpp"
#include "core/dkim/key.hpp"
#include "core/message/header.hpp"

namespace outpost::dkim::detail {

// SHA-256 of the canonical body, hashed as it is canonicalized (no copy of the body). limit is
// l= (verification only): at most that many canonical bytes count.
sha256_digest body_hash(
    canonicalization c, std::string_view body, std::optional<std::uint64_t> limit = std::nullopt
);

// The fields h= names, in h= order: for each name, the lowest instance not yet taken (§5.4.2).
// A name with no instance left contributes nothing (nullptr is not stored).
std::vector<const message::header_field*> select_fields(
    std::span<const message::header_field> fields, std::span<const std::string> names
);

// The data a signature covers (§3.7): the selected fields canonicalized, then the signature's own
// field with b= empty and without its final CRLF. own_field is "Name: value" text.
std::string signed_data(
    std::span<const message::header_field* const> selected,
    canonicalization c,
    std::string_view own_field
);

// Writes "Name: tag=value; tag=value;" folded so lines stay within 78 columns (RFC 5322 §2.1.1
// recommends 78), always folding before a word and never inside a tag name.
class field_writer {
public:
    explicit field_writer(std::string_view name);

    // "name=value;" as one unit, on this line when it fits, else on a new one.
    void tag(std::string_view name, std::string_view value);
    void number_tag(std::string_view name, std::int64_t value);
    // "name=a:b:c;", folding between items when the list is long.
    void list_tag(std::string_view name, std::span<const std::string_view> items);
    // "name=base64;", the value split across lines as needed (FWS is allowed anywhere in it).
    void base64_tag(std::string_view name, std::string_view value);
    // base64_tag of a SHA-256 digest, encoded here.
    void digest_tag(std::string_view name, const sha256_digest& digest);
    // Starts "b=" on a line of its own and returns the field so far: the text that is signed.
    // The line break before b= means the value can be appended later without refolding.
    std::string_view begin_b();
    // Appends the b= value (folded) and the final CRLF; returns the finished field.
    std::string finish_b(std::string_view value);
    // finish_b with the signature's bytes, base64-encoded here.
    std::string finish_b_signature(std::string_view signature);

private:
    void start_word(std::size_t width);  // folds if width more would not fit, then a space
    void word(std::string_view w);       // appends w, folding first if it would not fit
    void raw(std::string_view s);

    std::string text_;
    std::size_t column_ = 0;
};

}  // namespace outpost::dkim::detail
