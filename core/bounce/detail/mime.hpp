// Lenient MIME reading for bounces: headers, multipart, transfer encodings, charsets, RFC 2047.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace outpost::bounce::detail {

// A header field: name as written, value unfolded (CRLF+WSP removed) and not decoded.
struct field {
    std::string name;
    std::string value;
};

using field_list = std::vector<field>;

// The first field with that name (ASCII case-insensitive); nullptr when absent.
const field* find_field(const field_list& fields, std::string_view name);
// Its value, or "" when absent.
std::string_view field_value(const field_list& fields, std::string_view name);

// Reads a header block: "Name: value" lines and their continuation lines, up to the first empty
// line (or, leniently, the first line that is neither). Returns the fields and the rest.
// Expects '\n' line ends (parse_entity converts CRLF first).
std::pair<field_list, std::string_view> read_fields(std::string_view text);

// One MIME entity. Bounces are often broken: a missing boundary, a wrong charset label or
// truncated base64 never makes reading fail, it only makes the result less complete.
struct entity {
    field_list headers;
    std::string media_type = "text/plain";  // lower-case type/subtype
    std::string charset;                    // lower-case, as labelled
    std::string text;  // body with the transfer encoding undone; text/* converted to UTF-8
    std::string data;  // other single parts (application/gzip, ...): the body, transfer encoding
                       // undone, as bytes
    std::vector<entity> parts;  // multipart children; message/rfc822 and text/rfc822-headers
                                // carry the enclosed message as their only child
    bool multipart_without_boundaries = false;  // labelled multipart, read as one text body
};

// Parses a whole message (CRLF or LF line ends). Nesting deeper than 12 levels is kept as text.
entity parse_entity(std::string_view raw);

// A Content-Type-like value's parameter ("boundary", "charset", "report-type"), unquoted and
// with RFC 2231 continuations joined; "" when absent.
std::string header_parameter(std::string_view value, std::string_view name);

// RFC 2047 encoded words ("=?ISO-2022-JP?B?...?=") decoded to UTF-8; other text unchanged.
std::string decode_words(std::string_view value);

std::string decode_base64(std::string_view text);
std::string decode_quoted_printable(std::string_view text);

// Converts bytes in `charset` to UTF-8 with iconv. Unknown labels and invalid sequences never fail:
// Japanese labels fall back to the other Japanese encodings (mislabelled ISO-2022-JP is common),
// and bytes that still do not convert become U+FFFD.
std::string to_utf8(std::string_view bytes, std::string_view charset);

// Visible text of an HTML body: tags dropped, <br>, <p>, <tr>, <div> as line ends, the common
// entities decoded.
std::string html_to_text(std::string_view html);

}  // namespace outpost::bounce::detail
