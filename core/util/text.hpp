// Small text helpers shared by several folders: ASCII case, trimming, durations, sizes, base64.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::util {

inline char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string_view trim(std::string_view s);

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, at
// most U+10FFFF) that starts s; 0 when s does not start with one. ASCII bytes are length 1.
std::size_t utf8_sequence(std::string_view s);
bool valid_utf8(std::string_view s);

// Client bytes made safe to echo in an SMTP reply: printable ASCII stays, every other byte
// (controls, DEL, 8-bit) becomes "\xNN", so nothing a client sends reaches another terminal or
// parser raw.
std::string printable_ascii(std::string_view s);

// Splits on a single character; empty pieces are kept.
std::vector<std::string_view> split(std::string_view s, char sep);

// Splits a line of a tab-separated data table: a run of tabs (used to align columns) separates
// one column.
std::vector<std::string_view> split_tabs(std::string_view line);

// "30s", "5m", "2h", "5d", "1w", "250ms"; a bare number means seconds. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);

// "25MB", "512KB", "1GB", "1048576" (bytes); binary multiples (1 KB = 1024). nullopt when
// malformed.
std::optional<std::uint64_t> parse_size(std::string_view s);

// Human text for a duration: "5m", "1h30m", "250ms".
std::string format_duration(std::chrono::milliseconds d);

std::string base64_encode(std::string_view bytes);
// The same written into out, which must hold base64_size(bytes.size()) characters; returns the
// text. For hot paths that keep short values on the stack.
std::string_view base64_encode(std::string_view bytes, std::span<char> out);

// Characters base64 takes for n bytes, plus one for the NUL that OpenSSL writes after them.
constexpr std::size_t base64_size(std::size_t n) {
    return 4 * ((n + 2) / 3) + 1;
}

// Decodes standard base64, ignoring whitespace; nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);

// RFC 5322 §3.3 date-time in UTC, e.g. "Tue, 24 Nov 2026 21:31:00 +0000".
std::string rfc5322_date(std::int64_t unix_seconds);
// ISO 8601 UTC, e.g. "2026-11-24T21:31:00Z".
std::string iso8601(std::int64_t unix_seconds);
// The UTC date alone, e.g. "2026-11-24".
std::string utc_date(std::int64_t unix_seconds);

}  // namespace outpost::util
