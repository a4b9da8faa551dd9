#include "core/smtp/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/util/text.hpp"

namespace outpost::smtp {

namespace {

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_utf8(char c) {
    return static_cast<unsigned char>(c) >= 0x80;
}

// RFC 5322 atext.
bool is_atext(char c, bool utf8) {
    if (is_alpha(c) || is_digit(c))
        return true;
    if (utf8 && is_utf8(c))
        return true;
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '/':
        case '=':
        case '?':
        case '^':
        case '_':
        case '`':
        case '{':
        case '|':
        case '}':
        case '~':
            return true;
        default:
            return false;
    }
}

bool valid_dot_string(std::string_view s, bool utf8) {
    if (s.empty() || s.front() == '.' || s.back() == '.')
        return false;
    char prev = 0;
    for (char c : s) {
        if (c == '.') {
            if (prev == '.')
                return false;
        } else if (!is_atext(c, utf8)) {
            return false;
        }
        prev = c;
    }
    return true;
}

// Quoted-string of RFC 5321: qtextSMTP or quoted-pairSMTP between DQUOTEs.
bool valid_quoted_string(std::string_view s, bool utf8) {
    if (s.size() < 2 || s.front() != '"' || s.back() != '"')
        return false;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '\\') {
            if (i + 2 >= s.size())
                return false;
            auto n = static_cast<unsigned char>(s[++i]);
            if (n < 32 || n > 126)
                return false;
        } else if (c == '"') {
            return false;
        } else if (c >= 0x80) {
            if (!utf8)
                return false;
        } else if (c < 32 || c == 127) {
            return false;
        }
    }
    return true;
}

// RFC 5321 §4.1.3, the inside of an address-literal: an IPv4 address, "IPv6:" and an IPv6
// address, or Standardized-tag ":" 1*dcontent. "[bounces.example]" is none of these.
bool valid_address_literal(std::string_view inside) {
    std::string text(inside);
    in_addr v4{};
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1)
        return true;
    auto colon = inside.find(':');
    if (colon == std::string_view::npos || colon == 0)
        return false;
    auto tag = inside.substr(0, colon);
    auto content = inside.substr(colon + 1);
    if (util::iequals(tag, "IPv6")) {
        in6_addr v6{};
        return ::inet_pton(AF_INET6, std::string(content).c_str(), &v6) == 1;
    }
    // A tag is an Ldh-str: letters, digits and hyphens, ending in a letter or digit.
    if (tag.back() == '-')
        return false;
    for (char c : tag)
        if (!(is_alpha(c) || is_digit(c) || c == '-'))
            return false;
    if (content.empty())
        return false;
    for (char c : content) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126 || c == '[' || c == ']' || c == '\\')
            return false;
    }
    return true;
}

bool valid_domain(std::string_view d, bool utf8) {
    if (d.empty() || d.size() > 255)
        return false;
    if (d.front() == '[') {
        if (d.back() != ']' || d.size() < 3)
            return false;
        return valid_address_literal(d.substr(1, d.size() - 2));
    }
    for (auto label : util::split(d, '.')) {
        if (label.empty() || label.size() > 63)
            return false;
        if (label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label)
            if (!(is_alpha(c) || is_digit(c) || c == '-' || (utf8 && is_utf8(c))))
                return false;
    }
    return true;
}

}  // namespace

std::string mailbox::domain_key() const {
    return util::to_lower(domain);
}

bool has_non_ascii(std::string_view s) {
    for (char c : s)
        if (is_utf8(c))
            return true;
    return false;
}

path_result parse_path(std::string_view text, bool utf8_allowed) {
    path_result r;
    std::string_view inner = text;
    if (text.starts_with('<')) {
        if (!text.ends_with('>') || text.size() < 2)
            return r;
        inner = text.substr(1, text.size() - 2);
    } else if (text.find_first_of("<> \t") != std::string_view::npos) {
        return r;
    }
    if (inner.empty()) {
        if (!text.starts_with('<'))
            return r;
        r.path = parsed_path{true, {}};
        return r;
    }
    if (text.size() > 256) {
        r.error = path_error::too_long;
        return r;
    }
    // Source route: "@a,@b:" before the mailbox; accepted and ignored (RFC 5321 §4.1.2, C).
    if (inner.front() == '@') {
        auto colon = inner.find(':');
        if (colon == std::string_view::npos)
            return r;
        for (auto hop : util::split(inner.substr(0, colon), ',')) {
            if (hop.size() < 2 || hop.front() != '@' || !valid_domain(hop.substr(1), utf8_allowed))
                return r;
        }
        inner = inner.substr(colon + 1);
    }
    // The local part may be quoted and contain '@', so the domain starts after the last '@'.
    auto at = inner.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == inner.size())
        return r;
    auto local = inner.substr(0, at);
    auto domain = inner.substr(at + 1);
    bool local_ok =
        local.front() == '"' ? valid_quoted_string(local, true) : valid_dot_string(local, true);
    if (!local_ok || !valid_domain(domain, true))
        return r;
    if (!utf8_allowed && (has_non_ascii(local) || has_non_ascii(domain))) {
        r.error = path_error::needs_utf8;
        return r;
    }
    if (local.size() > 64 || domain.size() > 255) {
        r.error = path_error::too_long;
        return r;
    }
    r.path = parsed_path{false, mailbox{std::string(local), std::string(domain)}};
    return r;
}

}  // namespace outpost::smtp
