// RFC 5322 §3.4 address lists parsed far enough to know each mailbox's domain.
#include "core/message/address.hpp"

#include <cstddef>

#include "core/util/text.hpp"

namespace outpost::message {

namespace {

enum class token_kind { word, quoted, literal, special };

// A view of the value: a word or special as is, a literal with its [], a quoted-string between its
// quotes with escapes and folding still in (see append_text).
struct token {
    token_kind kind;
    std::string_view text;
};

// Appends a token's text; a quoted-string's without its backslashes and line breaks (folding
// inside a quoted string is not part of it). A backslash in one always has a character after it.
void append_text(const token& t, std::string& out) {
    if (t.kind != token_kind::quoted) {
        out += t.text;
        return;
    }
    for (std::size_t i = 0; i < t.text.size(); ++i) {
        char c = t.text[i];
        if (c == '\\')
            out += t.text[++i];
        else if (c != '\r' && c != '\n')
            out += c;
    }
}

bool is_wsp_or_break(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_special(char c) {
    // RFC 5322 §3.2.3 specials, less '.', which obs-phrase and obs-local-part let into words.
    switch (c) {
        case '(':
        case ')':
        case '<':
        case '>':
        case '[':
        case ']':
        case ':':
        case ';':
        case '@':
        case '\\':
        case ',':
        case '"':
            return true;
        default:
            return false;
    }
}

// Splits a value into words, quoted strings, domain literals and specials; comments and folding
// white space go away (RFC 5322 §3.2.2). nullopt when a quote, bracket or comment is unclosed.
std::optional<std::vector<token>> tokenize(std::string_view s) {
    std::vector<token> out;
    out.reserve(16);
    std::size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (is_wsp_or_break(c)) {
            ++i;
        } else if (c == '(') {
            int depth = 0;
            for (; i < s.size(); ++i) {
                if (s[i] == '\\') {
                    ++i;
                } else if (s[i] == '(') {
                    ++depth;
                } else if (s[i] == ')' && --depth == 0) {
                    break;
                }
            }
            if (i >= s.size())
                return std::nullopt;
            ++i;
        } else if (c == '"') {
            auto start = ++i;
            for (; i < s.size() && s[i] != '"'; ++i)
                if (s[i] == '\\')
                    ++i;  // an escaped character, maybe a quote; past the end means unclosed
            if (i >= s.size())
                return std::nullopt;
            out.push_back({token_kind::quoted, s.substr(start, i - start)});
            ++i;
        } else if (c == '[') {
            auto close = s.find(']', i);
            if (close == std::string_view::npos)
                return std::nullopt;
            out.push_back({token_kind::literal, s.substr(i, close - i + 1)});
            i = close + 1;
        } else if (is_special(c)) {
            if (c == ')' || c == ']' || c == '\\')
                return std::nullopt;
            out.push_back({token_kind::special, s.substr(i, 1)});
            ++i;
        } else {
            auto start = i;
            while (i < s.size() && !is_wsp_or_break(s[i]) && !is_special(s[i]))
                ++i;
            out.push_back({token_kind::word, s.substr(start, i - start)});
        }
    }
    return out;
}

bool is(const token& t, char special) {
    return t.kind == token_kind::special && t.text.size() == 1 && t.text[0] == special;
}

// An addr-spec from tokens [begin, end): local-part "@" domain, split at the last "@".
std::optional<mailbox> parse_addr_spec(
    const std::vector<token>& t, std::size_t begin, std::size_t end
) {
    std::size_t at = end;
    for (std::size_t i = begin; i < end; ++i)
        if (is(t[i], '@'))
            at = i;
    if (at == end || at == begin || at + 1 == end)
        return std::nullopt;
    mailbox m;
    for (std::size_t i = begin; i < at; ++i) {
        if (t[i].kind == token_kind::special)
            return std::nullopt;
        append_text(t[i], m.local_part);
    }
    for (std::size_t i = at + 1; i < end; ++i) {
        if (t[i].kind == token_kind::special || t[i].kind == token_kind::quoted)
            return std::nullopt;
        m.domain += t[i].text;
    }
    if (m.domain.ends_with('.'))
        m.domain.pop_back();
    if (m.domain.empty() || m.domain.starts_with('.'))
        return std::nullopt;
    for (auto& c : m.domain)
        c = util::ascii_lower(c);
    return m;
}

// One mailbox from tokens [begin, end): either an addr-spec or [display-name] "<" addr-spec ">".
std::optional<mailbox> parse_mailbox(
    const std::vector<token>& t, std::size_t begin, std::size_t end
) {
    std::size_t open = end;
    for (std::size_t i = begin; i < end; ++i) {
        if (is(t[i], '<')) {
            open = i;
            break;
        }
    }
    if (open == end)
        return parse_addr_spec(t, begin, end);
    std::size_t close = open + 1;
    while (close < end && !is(t[close], '>'))
        ++close;
    if (close == end || close + 1 != end)
        return std::nullopt;
    // obs-angle-addr: "<@route1,@route2:local@domain>"; the address follows the last ':'.
    std::size_t start = open + 1;
    for (std::size_t i = open + 1; i < close; ++i)
        if (is(t[i], ':'))
            start = i + 1;
    return parse_addr_spec(t, start, close);
}

bool is_word_char(char c) {
    return !is_wsp_or_break(c) && !is_special(c);
}

}  // namespace

std::optional<mailbox> detail::parse_common_mailbox(std::string_view value) {
    std::size_t b = 0;
    std::size_t e = value.size();
    while (b < e && (value[b] == ' ' || value[b] == '\t'))
        ++b;
    while (e > b && (value[e - 1] == ' ' || value[e - 1] == '\t'))
        --e;
    if (b == e)
        return std::nullopt;
    std::string_view addr = value.substr(b, e - b);
    if (addr.back() == '>') {
        // A display name of words and plain quoted strings, then "<" addr-spec ">".
        std::size_t i = b;
        while (value[i] != '<') {
            char c = value[i];
            if (c == '"') {
                auto close = value.find_first_of("\"\\\r\n", i + 1);
                if (close == std::string_view::npos || value[close] != '"')
                    return std::nullopt;
                i = close + 1;
            } else if (c == ' ' || c == '\t' || is_word_char(c)) {
                ++i;
            } else {
                return std::nullopt;
            }
            if (i == e)
                return std::nullopt;
        }
        addr = value.substr(i + 1, e - i - 2);
    }
    // addr-spec: word "@" word, the domain neither starting nor ending with a dot.
    std::size_t at = std::string_view::npos;
    for (std::size_t i = 0; i < addr.size(); ++i) {
        if (addr[i] == '@' && at == std::string_view::npos)
            at = i;
        else if (!is_word_char(addr[i]))
            return std::nullopt;
    }
    if (at == std::string_view::npos || at == 0 || at + 1 == addr.size() || addr[at + 1] == '.' ||
        addr.back() == '.')
        return std::nullopt;
    mailbox m;
    m.local_part = addr.substr(0, at);
    m.domain = addr.substr(at + 1);
    for (auto& c : m.domain)
        c = util::ascii_lower(c);
    return m;
}

std::optional<std::vector<mailbox>> parse_address_list(std::string_view value) {
    if (auto m = detail::parse_common_mailbox(value)) {
        std::vector<mailbox> out;
        out.push_back(std::move(*m));
        return out;
    }
    return detail::parse_address_list_full(value);
}

std::optional<std::vector<mailbox>> detail::parse_address_list_full(std::string_view value) {
    auto tokens = tokenize(value);
    if (!tokens)
        return std::nullopt;
    const auto& t = *tokens;
    std::vector<mailbox> out;
    std::size_t i = 0;
    bool in_group = false;
    while (i < t.size()) {
        // One list element runs to the next ',' (or ';' closing a group), outside angle brackets.
        std::size_t j = i;
        bool in_angle = false;
        bool group_start = false;
        for (; j < t.size(); ++j) {
            if (is(t[j], '<'))
                in_angle = true;
            else if (is(t[j], '>'))
                in_angle = false;
            else if (!in_angle && (is(t[j], ',') || is(t[j], ';')))
                break;
            else if (!in_angle && !in_group && is(t[j], ':')) {
                group_start = true;
                break;
            }
        }
        if (group_start) {
            // display-name ":" opens a group (RFC 5322 §3.4); its members follow.
            in_group = true;
            i = j + 1;
            continue;
        }
        if (j > i) {
            auto m = parse_mailbox(t, i, j);
            if (!m)
                return std::nullopt;
            out.push_back(std::move(*m));
        }
        if (j < t.size() && is(t[j], ';')) {
            if (!in_group)
                return std::nullopt;
            in_group = false;
        }
        i = j + 1;
    }
    // A group without its closing ';' at the very end is accepted: nothing follows it anyway.
    return out;
}

}  // namespace outpost::message
