#include "core/util/text.hpp"

#include <charconv>
#include <ctime>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace outpost::util {

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = ascii_lower(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
    std::vector<std::string_view> cols;
    std::size_t pos = 0;
    while (true) {
        auto tab = line.find('\t', pos);
        if (tab == std::string_view::npos) {
            cols.push_back(line.substr(pos));
            return cols;
        }
        cols.push_back(line.substr(pos, tab - pos));
        pos = tab + 1;
        while (pos < line.size() && line[pos] == '\t')
            ++pos;
    }
}

std::size_t utf8_sequence(std::string_view s) {
    if (s.empty())
        return 0;
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    auto c0 = b(0);
    if (c0 < 0x80)
        return 1;
    std::size_t n = c0 >= 0xC2 && c0 <= 0xDF   ? 2
                    : c0 >= 0xE0 && c0 <= 0xEF ? 3
                    : c0 >= 0xF0 && c0 <= 0xF4 ? 4
                                               : 0;
    if (n == 0 || s.size() < n)
        return 0;
    for (std::size_t i = 1; i < n; ++i)
        if ((b(i) & 0xC0) != 0x80)
            return 0;
    // The second byte's range rules out overlong forms, surrogates and code points past U+10FFFF.
    auto c1 = b(1);
    if ((c0 == 0xE0 && c1 < 0xA0) || (c0 == 0xED && c1 > 0x9F) || (c0 == 0xF0 && c1 < 0x90) ||
        (c0 == 0xF4 && c1 > 0x8F))
        return 0;
    return n;
}

bool valid_utf8(std::string_view s) {
    while (!s.empty()) {
        auto n = utf8_sequence(s);
        if (n == 0)
            return false;
        s.remove_prefix(n);
    }
    return true;
}

std::string printable_ascii(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else {
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        auto pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

namespace {

// Splits "25MB" into 25 and "MB"; nullopt without digits or on overflow.
std::optional<std::pair<std::uint64_t, std::string_view>> number_and_unit(std::string_view s) {
    s = trim(s);
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end == s.data())
        return std::nullopt;
    return std::pair{
        n, trim(std::string_view(end, static_cast<std::size_t>(s.data() + s.size() - end)))};
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
    auto parsed = number_and_unit(s);
    if (!parsed)
        return std::nullopt;
    auto [n, unit] = *parsed;
    std::uint64_t ms_per = 0;
    if (unit.empty() || unit == "s")
        ms_per = 1000;
    else if (unit == "ms")
        ms_per = 1;
    else if (unit == "m" || unit == "min")
        ms_per = 60'000;
    else if (unit == "h")
        ms_per = 3'600'000;
    else if (unit == "d")
        ms_per = 86'400'000;
    else if (unit == "w")
        ms_per = 7 * 86'400'000ULL;
    else
        return std::nullopt;
    if (n > (1ULL << 50) / ms_per)
        return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::int64_t>(n * ms_per));
}

std::optional<std::uint64_t> parse_size(std::string_view s) {
    auto parsed = number_and_unit(s);
    if (!parsed)
        return std::nullopt;
    auto [n, unit] = *parsed;
    std::uint64_t mult = 0;
    auto u = to_lower(unit);
    if (u.empty() || u == "b")
        mult = 1;
    else if (u == "k" || u == "kb" || u == "kib")
        mult = 1ULL << 10;
    else if (u == "m" || u == "mb" || u == "mib")
        mult = 1ULL << 20;
    else if (u == "g" || u == "gb" || u == "gib")
        mult = 1ULL << 30;
    else
        return std::nullopt;
    if (n > (1ULL << 50) / mult)
        return std::nullopt;
    return n * mult;
}

std::string format_duration(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms < 0)
        return "-" + format_duration(std::chrono::milliseconds(-ms));
    if (ms == 0)
        return "0s";
    if (ms % 1000 != 0 && ms < 60'000)
        return fmt::format("{}ms", ms);
    auto secs = ms / 1000;
    std::string out;
    const std::pair<std::int64_t, const char*> units[] = {
        {86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
    for (auto [size, name] : units) {
        if (secs >= size) {
            out += fmt::format("{}{}", secs / size, name);
            secs %= size;
        }
    }
    return out;
}

std::string base64_encode(std::string_view bytes) {
    std::string out(base64_size(bytes.size()), '\0');
    out.resize(base64_encode(bytes, out).size());
    return out;
}

std::string_view base64_encode(std::string_view bytes, std::span<char> out) {
    if (out.size() < base64_size(bytes.size()))
        throw std::length_error("base64_encode: output buffer too small");
    int n = EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size())
    );
    return {out.data(), static_cast<std::size_t>(n)};
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string clean;
    clean.reserve(text.size());
    for (char c : text)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            clean += c;
    if (clean.size() % 4 != 0)
        return std::nullopt;
    if (clean.empty())
        return std::string{};
    std::string out(clean.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size())
    );
    if (n < 0)
        return std::nullopt;
    // EVP_DecodeBlock counts padding as zero bytes; drop them.
    std::size_t pad = 0;
    if (clean.ends_with("=="))
        pad = 2;
    else if (clean.ends_with("="))
        pad = 1;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

namespace {

std::tm utc_tm(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return tm;
}

}  // namespace

std::string rfc5322_date(std::int64_t unix_seconds) {
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    auto tm = utc_tm(unix_seconds);
    return fmt::format(
        "{}, {} {} {:04} {:02}:{:02}:{:02} +0000", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
        tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec
    );
}

std::string utc_date(std::int64_t unix_seconds) {
    auto tm = utc_tm(unix_seconds);
    return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

std::string iso8601(std::int64_t unix_seconds) {
    auto tm = utc_tm(unix_seconds);
    return fmt::format(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
        tm.tm_hour, tm.tm_min, tm.tm_sec
    );
}

}  // namespace outpost::util
