#include "core/admin/http.hpp"

#include <cctype>

#include <fmt/format.h>

namespace outpost::admin {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::optional<std::string> decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size())
                return std::nullopt;
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::optional<endpoint_address> parse_endpoint_address(std::string_view text) {
    endpoint_address a;
    if (text.starts_with('/')) {
        a.unix_path = std::string(text);
        return a;
    }
    std::string_view port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        a.host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos || colon == 0 || text.find(':') != colon)
            return std::nullopt;
        a.host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
    }
    unsigned value = 0;
    if (port.empty() || port.size() > 5)
        return std::nullopt;
    for (char c : port) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535 || a.host.empty())
        return std::nullopt;
    a.port = static_cast<std::uint16_t>(value);
    return a;
}

std::optional<request_target> parse_target(std::string_view target) {
    if (!target.starts_with('/'))
        return std::nullopt;
    request_target out;
    auto question = target.find('?');
    auto path = decode(target.substr(0, question), false);
    if (!path)
        return std::nullopt;
    out.path = std::move(*path);
    if (question == std::string_view::npos)
        return out;
    auto query = target.substr(question + 1);
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty())
            continue;
        auto eq = pair.find('=');
        auto key = decode(pair.substr(0, eq), true);
        auto value = eq == std::string_view::npos ? std::optional<std::string>{""}
                                                  : decode(pair.substr(eq + 1), true);
        if (!key || !value)
            return std::nullopt;
        out.query[std::move(*key)] = std::move(*value);
    }
    return out;
}

std::string url_encode(std::string_view v) {
    std::string out;
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved)
            out += c;
        else
            out += fmt::format("%{:02X}", static_cast<unsigned>(u));
    }
    return out;
}

bool authorized(std::string_view authorization_header, std::string_view token) {
    if (token.empty())
        return true;
    constexpr std::string_view scheme = "Bearer ";
    if (authorization_header.size() < scheme.size())
        return false;
    // RFC 7235 §2.1: the scheme name is case-insensitive.
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization_header[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i])))
            return false;
    auto given = authorization_header.substr(scheme.size());
    unsigned char diff = given.size() == token.size() ? 0 : 1;
    for (std::size_t i = 0; i < token.size(); ++i)
        diff |= static_cast<unsigned char>(
            (i < given.size() ? static_cast<unsigned char>(given[i]) : 0) ^
            static_cast<unsigned char>(token[i])
        );
    return diff == 0;
}

}  // namespace outpost::admin
