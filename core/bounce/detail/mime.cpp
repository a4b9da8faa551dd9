// Lenient MIME reading for bounces: headers, multipart, transfer encodings, charsets, RFC 2047.
#include "core/bounce/detail/mime.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <optional>

#include <iconv.h>

namespace outpost::bounce::detail {

namespace {

constexpr int max_depth = 12;

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = lower(c);
    return out;
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

// A field name is printable ASCII without ':' or space (RFC 5322 §2.2); a name of 1 to 76
// characters followed by ':' starts a field.
std::optional<std::size_t> field_name_end(std::string_view line) {
    for (std::size_t i = 0; i < line.size() && i < 77; ++i) {
        auto c = static_cast<unsigned char>(line[i]);
        if (c == ':')
            return i == 0 ? std::nullopt : std::optional<std::size_t>(i);
        if (c <= 32 || c >= 127)
            return std::nullopt;
    }
    return std::nullopt;
}

std::string crlf_to_lf(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n')
            continue;
        out.push_back(raw[i]);
    }
    return out;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x110000) {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        if (c < 0x80)
            n = 0;
        else if ((c & 0xe0) == 0xc0 && c >= 0xc2)
            n = 1;
        else if ((c & 0xf0) == 0xe0)
            n = 2;
        else if ((c & 0xf8) == 0xf0 && c <= 0xf4)
            n = 3;
        else
            return false;
        if (n > 0 && i + n >= s.size())
            return false;
        for (std::size_t k = 1; k <= n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80)
                return false;
        i += n + 1;
    }
    return true;
}

bool has_8bit(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80)
            return true;
    return false;
}

class converter {
public:
    explicit converter(const std::string& from) : cd_(iconv_open("UTF-8", from.c_str())) {}

    converter(const converter&) = delete;
    converter& operator=(const converter&) = delete;

    ~converter() {
        if (ok())
            iconv_close(cd_);
    }

    bool ok() const { return cd_ != invalid(); }

    // Converts all of `in`; on an invalid sequence either fails (strict) or emits U+FFFD and
    // skips one byte.
    std::optional<std::string> run(std::string_view in, bool strict) {
        std::string input(in);
        std::string out;
        out.reserve(in.size() * 2 + 16);
        char* src = input.data();
        std::size_t left = input.size();
        std::array<char, 4096> buffer{};
        iconv(cd_, nullptr, nullptr, nullptr, nullptr);
        while (true) {
            char* dst = buffer.data();
            std::size_t room = buffer.size();
            auto rc = left == 0 ? iconv(cd_, nullptr, nullptr, &dst, &room)
                                : iconv(cd_, &src, &left, &dst, &room);
            out.append(buffer.data(), static_cast<std::size_t>(dst - buffer.data()));
            if (rc != static_cast<std::size_t>(-1)) {
                if (left == 0)
                    break;
                continue;
            }
            if (errno == E2BIG)
                continue;
            if (strict)
                return std::nullopt;
            // EILSEQ or EINVAL (truncated input): replace one byte and go on.
            append_utf8(out, 0xfffd);
            if (left == 0)
                break;
            ++src;
            --left;
            iconv(cd_, nullptr, nullptr, nullptr, nullptr);
        }
        return out;
    }

private:
    static iconv_t invalid() { return reinterpret_cast<iconv_t>(static_cast<std::intptr_t>(-1)); }

    iconv_t cd_;
};

bool japanese_label(std::string_view cs) {
    return cs.find("2022-jp") != std::string_view::npos ||
           cs.find("jis") != std::string_view::npos ||
           cs.find("euc-jp") != std::string_view::npos || cs == "cp932" || cs == "sjis" ||
           cs == "windows-31j" || cs == "eucjp";
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string decode_transfer(std::string_view body, std::string_view encoding) {
    auto cte = lowered(trimmed(encoding));
    if (cte == "base64")
        return decode_base64(body);
    if (cte == "quoted-printable")
        return decode_quoted_printable(body);
    return std::string(body);
}

// Splits a multipart body at its boundary lines; returns nothing when no delimiter is found.
std::vector<std::string_view> split_multipart(std::string_view body, std::string_view boundary) {
    std::vector<std::string_view> parts;
    if (boundary.empty())
        return parts;
    std::string dash = "--";
    dash += boundary;
    std::optional<std::size_t> start;
    std::size_t pos = 0;
    while (pos <= body.size()) {
        auto eol = body.find('\n', pos);
        auto line_end = eol == std::string_view::npos ? body.size() : eol;
        auto line = body.substr(pos, line_end - pos);
        auto next = eol == std::string_view::npos ? body.size() + 1 : eol + 1;
        if (line.starts_with(dash)) {
            auto rest = trimmed(line.substr(dash.size()));
            bool closing = rest == "--";
            if (rest.empty() || closing) {
                if (start) {
                    // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
                    auto end = pos > *start ? pos - 1 : *start;
                    parts.push_back(body.substr(*start, end - *start));
                }
                if (closing)
                    return parts;
                start = std::min(next, body.size());
            }
        }
        pos = next;
    }
    if (start)
        parts.push_back(body.substr(*start));
    return parts;
}

entity parse_at(std::string_view raw, int depth);

void fill_body(entity& e, std::string_view body, int depth) {
    auto content_type = field_value(e.headers, "Content-Type");
    auto type = lowered(trimmed(content_type.substr(0, content_type.find(';'))));
    if (type.find('/') != std::string::npos)
        e.media_type = type;
    e.charset = lowered(header_parameter(content_type, "charset"));
    auto encoding = field_value(e.headers, "Content-Transfer-Encoding");

    if (e.media_type.starts_with("multipart/") && depth < max_depth) {
        auto pieces = split_multipart(body, header_parameter(content_type, "boundary"));
        if (!pieces.empty()) {
            for (auto piece : pieces)
                e.parts.push_back(parse_at(piece, depth + 1));
            return;
        }
        e.multipart_without_boundaries = true;
        e.text = to_utf8(body, e.charset);
        return;
    }
    auto decoded = decode_transfer(body, encoding);
    bool enclosed = e.media_type == "message/rfc822" || e.media_type == "message/global" ||
                    e.media_type == "text/rfc822-headers" ||
                    e.media_type == "message/rfc822-headers" ||
                    e.media_type == "message/global-headers";
    if (enclosed && depth < max_depth)
        e.parts.push_back(parse_at(decoded, depth + 1));
    if (e.media_type.starts_with("text/") || e.media_type.starts_with("message/") ||
        e.media_type == "application/json") {
        e.text = (e.media_type.starts_with("text/") && !enclosed) ? to_utf8(decoded, e.charset)
                                                                  : std::move(decoded);
    } else {
        e.data = std::move(decoded);
    }
}

entity parse_at(std::string_view raw, int depth) {
    entity e;
    auto [fields, body] = read_fields(raw);
    e.headers = std::move(fields);
    fill_body(e, body, depth);
    return e;
}

}  // namespace

const field* find_field(const field_list& fields, std::string_view name) {
    for (const auto& f : fields)
        if (iequal(f.name, name))
            return &f;
    return nullptr;
}

std::string_view field_value(const field_list& fields, std::string_view name) {
    const auto* f = find_field(fields, name);
    return f ? std::string_view(f->value) : std::string_view();
}

std::pair<field_list, std::string_view> read_fields(std::string_view text) {
    field_list fields;
    std::size_t pos = 0;
    // An mbox "From " separator line is not a field.
    if (text.starts_with("From ")) {
        auto eol = text.find('\n');
        pos = eol == std::string_view::npos ? text.size() : eol + 1;
    }
    while (pos < text.size()) {
        auto eol = text.find('\n', pos);
        auto line_end = eol == std::string_view::npos ? text.size() : eol;
        auto line = text.substr(pos, line_end - pos);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        auto next = eol == std::string_view::npos ? text.size() : eol + 1;
        if (trimmed(line).empty())
            return {std::move(fields), text.substr(next)};
        if ((line.front() == ' ' || line.front() == '\t') && !fields.empty()) {
            auto& value = fields.back().value;
            auto piece = trimmed(line);
            if (!value.empty())
                value += ' ';
            value += piece;
        } else if (auto end = field_name_end(line)) {
            fields.push_back(
                {std::string(line.substr(0, *end)), std::string(trimmed(line.substr(*end + 1)))}
            );
        } else {
            // Neither a field nor a continuation: the header block ended without an empty line.
            return {std::move(fields), text.substr(pos)};
        }
        pos = next;
    }
    return {std::move(fields), std::string_view()};
}

entity parse_entity(std::string_view raw) {
    auto text = crlf_to_lf(raw);
    return parse_at(text, 0);
}

std::string header_parameter(std::string_view value, std::string_view name) {
    std::string joined;
    bool found = false;
    std::size_t pos = value.find(';');
    while (pos != std::string_view::npos && pos < value.size()) {
        ++pos;
        while (pos < value.size() && is_space(value[pos]))
            ++pos;
        auto eq = value.find('=', pos);
        if (eq == std::string_view::npos)
            break;
        auto key = lowered(trimmed(value.substr(pos, eq - pos)));
        std::size_t vpos = eq + 1;
        while (vpos < value.size() && is_space(value[vpos]))
            ++vpos;
        std::string val;
        std::size_t after = vpos;
        if (vpos < value.size() && value[vpos] == '"') {
            after = vpos + 1;
            while (after < value.size() && value[after] != '"') {
                if (value[after] == '\\' && after + 1 < value.size())
                    ++after;
                val.push_back(value[after]);
                ++after;
            }
            pos = value.find(';', after);
        } else {
            auto semi = value.find(';', vpos);
            val = std::string(trimmed(value.substr(
                vpos, semi == std::string_view::npos ? std::string_view::npos : semi - vpos
            )));
            pos = semi;
        }
        auto wanted = lowered(name);
        if (key == wanted) {
            return val;
        }
        // RFC 2231 continuations: name*0=..., name*1=...; the charset prefix of name*0* is
        // dropped, which is enough for boundaries and charsets.
        if (key.starts_with(wanted + "*")) {
            auto tail = key.substr(wanted.size() + 1);
            if (tail.ends_with('*')) {
                auto quote = val.find('\'');
                auto second =
                    quote == std::string::npos ? std::string::npos : val.find('\'', quote + 1);
                if (tail == "*" || tail == "0*") {
                    if (second != std::string::npos)
                        val = val.substr(second + 1);
                }
            }
            joined += val;
            found = true;
        }
    }
    return found ? joined : std::string();
}

std::string decode_base64(std::string_view text) {
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        int v = -1;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+' || c == '-')
            v = 62;
        else if (c == '/' || c == '_')
            v = 63;
        else if (c == '=')
            break;
        if (v < 0)
            continue;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

std::string decode_quoted_printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '=') {
            out.push_back(c);
            continue;
        }
        // Soft line break: "=" then optional spaces then the line end.
        std::size_t j = i + 1;
        while (j < text.size() && (text[j] == ' ' || text[j] == '\t'))
            ++j;
        if (j < text.size() && (text[j] == '\n' || text[j] == '\r')) {
            if (text[j] == '\r' && j + 1 < text.size() && text[j + 1] == '\n')
                ++j;
            i = j;
            continue;
        }
        if (j >= text.size()) {
            i = j;
            continue;
        }
        if (i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string to_utf8(std::string_view bytes, std::string_view charset) {
    auto label = lowered(trimmed(charset));
    bool has_escape = bytes.find('\x1b') != std::string_view::npos;
    if (!has_8bit(bytes) && !has_escape)
        return std::string(bytes);
    if ((label.empty() || label == "utf-8" || label == "utf8" || label == "us-ascii" ||
         label == "ascii") &&
        valid_utf8(bytes))
        return std::string(bytes);

    std::vector<std::string> candidates;
    if (!label.empty() && label != "us-ascii" && label != "ascii")
        candidates.push_back(label);
    if (japanese_label(label) || (label.empty() && has_escape)) {
        for (const char* cs : {"iso-2022-jp", "euc-jp", "cp932"})
            if (label != cs)
                candidates.emplace_back(cs);
    }
    if (!has_escape && valid_utf8(bytes))
        return std::string(bytes);
    for (const auto& cs : candidates) {
        converter conv(cs == "iso-2022-jp" ? std::string("ISO-2022-JP-2") : cs);
        if (!conv.ok())
            continue;
        if (auto out = conv.run(bytes, true))
            return *out;
    }
    // Nothing converts cleanly: keep what the label (or Windows-1252) makes of it.
    for (const auto& cs : candidates) {
        converter conv(cs);
        if (conv.ok())
            if (auto out = conv.run(bytes, false))
                return *out;
    }
    converter fallback("WINDOWS-1252");
    if (fallback.ok())
        if (auto out = fallback.run(bytes, false))
            return *out;
    return std::string(bytes);
}

std::string decode_words(std::string_view value) {
    std::string out;
    std::size_t pos = 0;
    bool last_was_word = false;
    std::string pending_space;
    while (pos < value.size()) {
        auto start = value.find("=?", pos);
        if (start == std::string_view::npos) {
            out += pending_space;
            out.append(value.substr(pos));
            break;
        }
        auto between = value.substr(pos, start - pos);
        // Whitespace between two encoded words is dropped (RFC 2047 §6.2).
        bool only_space = trimmed(between).empty();
        auto q1 = value.find('?', start + 2);
        auto q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
        auto end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
        if (end == std::string_view::npos || q2 != q1 + 2) {
            out += pending_space;
            pending_space.clear();
            out.append(value.substr(pos, start + 2 - pos));
            pos = start + 2;
            last_was_word = false;
            continue;
        }
        auto cs = value.substr(start + 2, q1 - start - 2);
        cs = cs.substr(0, cs.find('*'));  // RFC 2231 language suffix
        char enc = lower(value[q1 + 1]);
        auto payload = value.substr(q2 + 1, end - q2 - 1);
        std::string bytes;
        if (enc == 'b') {
            bytes = decode_base64(payload);
        } else if (enc == 'q') {
            std::string qp(payload);
            for (auto& c : qp)
                if (c == '_')
                    c = ' ';
            bytes = decode_quoted_printable(qp);
        } else {
            out.append(value.substr(pos, end + 2 - pos));
            pos = end + 2;
            last_was_word = false;
            continue;
        }
        if (!(last_was_word && only_space))
            out.append(between);
        out += to_utf8(bytes, cs);
        pos = end + 2;
        last_was_word = true;
    }
    return out;
}

std::string html_to_text(std::string_view html) {
    std::string out;
    out.reserve(html.size() / 2);
    std::size_t i = 0;
    while (i < html.size()) {
        char c = html[i];
        if (c == '<') {
            auto close = html.find('>', i);
            if (close == std::string_view::npos)
                break;
            auto tag = lowered(html.substr(i + 1, close - i - 1));
            auto name = tag.substr(0, tag.find_first_of(" \t\n/"));
            if (tag.starts_with("/"))
                name = tag.substr(1, tag.find_first_of(" \t\n>", 1) - 1);
            if (!tag.starts_with("/") && (name == "style" || name == "script" || name == "head")) {
                auto end = lowered(html.substr(close)).find("</" + name);
                i = end == std::string::npos ? html.size() : close + end;
                auto after = html.find('>', i);
                i = after == std::string_view::npos ? html.size() : after + 1;
                continue;
            }
            if (name == "br" || name == "p" || name == "tr" || name == "div" || name == "li" ||
                name == "table" || name == "h1" || name == "h2" || name == "h3" || name == "hr")
                out.push_back('\n');
            i = close + 1;
            continue;
        }
        if (c == '&') {
            auto semi = html.find(';', i);
            if (semi != std::string_view::npos && semi - i <= 10) {
                auto entity_name = html.substr(i + 1, semi - i - 1);
                std::optional<std::uint32_t> cp;
                if (entity_name == "amp")
                    cp = '&';
                else if (entity_name == "lt")
                    cp = '<';
                else if (entity_name == "gt")
                    cp = '>';
                else if (entity_name == "quot")
                    cp = '"';
                else if (entity_name == "apos")
                    cp = '\'';
                else if (entity_name == "nbsp")
                    cp = ' ';
                else if (entity_name.starts_with("#x") || entity_name.starts_with("#X")) {
                    std::uint32_t v = 0;
                    for (char h : entity_name.substr(2))
                        if (hex_value(h) >= 0)
                            v = v * 16 + static_cast<std::uint32_t>(hex_value(h));
                    cp = v;
                } else if (entity_name.starts_with("#")) {
                    std::uint32_t v = 0;
                    for (char d : entity_name.substr(1))
                        if (d >= '0' && d <= '9')
                            v = v * 10 + static_cast<std::uint32_t>(d - '0');
                    cp = v;
                }
                if (cp) {
                    append_utf8(out, *cp);
                    i = semi + 1;
                    continue;
                }
            }
        }
        out.push_back(c);
        ++i;
    }
    return out;
}

}  // namespace outpost::bounce::detail
