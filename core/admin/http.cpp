#include "core/admin/http.hpp"

#include <cctype>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
// Boost.URL compiled into this file: Debian 12 ships its headers, not its library.
#include <boost/url/src.hpp>

namespace outpost::admin {


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
    // RFC 9112 §3.2.1: origin-form, parsed and percent-decoded by Boost.URL.
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed)
        return std::nullopt;
    request_target out;
    out.path = parsed->path();  // '+' stays '+' in a path
    // A form's query: '+' means a space there (HTML forms, and what url_encode never writes).
    boost::urls::encoding_opts form;
    form.space_as_plus = true;
    for (auto param : parsed->params(form))
        if (!param.key.empty() || param.has_value)
            out.query[param.key] = param.has_value ? param.value : std::string();
    return out;
}

std::string url_encode(std::string_view v) {
    return boost::urls::encode(v, boost::urls::unreserved_chars);
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
