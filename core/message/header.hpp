// RFC 5322 header section parsing that keeps every byte as received (for DKIM and ARC).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/text.hpp"

namespace outpost::message {

// One header field as it appears in the message. All views point into the parsed bytes.
struct header_field {
    std::string_view name;   // before the colon, trailing WSP removed (RFC 5322 §4.5 obs-optional)
    std::string_view raw;    // the whole field: name, colon, value, folded lines, final line end
    std::string_view value;  // after the colon up to (not including) the final line end, unchanged
};

struct parsed_header {
    std::vector<header_field> fields;  // top to bottom
    std::size_t body_offset = 0;       // first byte after the empty line (or size() if none)
};

// Splits the header section from the body. Tolerant by design: lines may end in CRLF or a bare LF,
// values may hold 8-bit bytes (RFC 6532), names may be followed by WSP before the colon (RFC 5322
// §4.5), and a line without a colon (an mbox "From " line, garbage) becomes a field with an empty
// name so that no byte is lost. A message without an empty line is all header.
parsed_header parse_header(std::string_view message);

// Case-insensitive header field name comparison (RFC 5322 §1.2.2). Inline with the length check
// first: signing compares every field with every configured name.
inline bool name_is(const header_field& f, std::string_view name) {
    return f.name.size() == name.size() && util::iequals(f.name, name);
}

// The fields called name, top to bottom.
std::vector<const header_field*> find_fields(
    std::span<const header_field> fields, std::string_view name
);

// The first field called name, or nullptr.
const header_field* find_first(std::span<const header_field> fields, std::string_view name);

std::size_t count_fields(std::span<const header_field> fields, std::string_view name);

// The Message-ID of a message, unfolded and trimmed ("<id@example.com>"), for a record that
// names the message: "" when it has none. Bytes outside printable ASCII are left out and the
// result is cut at 250 characters: it is shown to operators and written to logs and CSV.
std::string message_id_of(std::string_view message);

// A message seen as header fields and body without copying: the fields may come from more than
// one buffer (the daemon keeps the fields it adds apart from the bytes it received).
struct message_view {
    std::vector<header_field> fields;  // top to bottom
    std::string_view body;
};

// prefix is a block of whole header fields placed above original (each ending in CRLF, no empty
// line); original is the message as received. Views point into both.
message_view view_message(std::string_view prefix, std::string_view original);

inline message_view view_message(std::string_view original) {
    return view_message({}, original);
}

}  // namespace outpost::message
