// DKIM tag=value lists (RFC 6376 §3.2), used by DKIM-Signature, ARC fields and key records.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::dkim {

struct tag {
    std::string_view name;
    std::string_view value;   // FWS at both ends removed; inner FWS kept
    std::size_t value_begin;  // offsets of value's raw extent (between '=' and ';') in the text
    std::size_t value_end;
};

// Parses text as a tag-list. nullopt when malformed or when a tag occurs twice, which makes the
// whole list invalid (§3.2).
std::optional<std::vector<tag>> parse_tag_list(std::string_view text);

const tag* find_tag(const std::vector<tag>& tags, std::string_view name);

// value with every WSP, CR and LF removed (b=, bh=, p= are base64 with FWS anywhere, §3.5).
std::string strip_fws(std::string_view value);

// The items of a colon-separated tag value (h=, k= lists, t= flags) with FWS removed, as owned
// strings: "from : to:\r\n subject" gives {"from", "to", "subject"}.
std::vector<std::string> split_colon_list(std::string_view value);

// text with the value of tag b emptied, as the signature's own field is hashed (§3.7): "b=abc; x"
// becomes "b=; x". Other tags whose name merely starts with b (bh=) are untouched.
std::string without_b_value(std::string_view text, const std::vector<tag>& tags);

}  // namespace outpost::dkim
