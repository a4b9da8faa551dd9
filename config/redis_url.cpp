#include "config/redis_url.hpp"

#include <charconv>

namespace outpost::config {

namespace {

std::optional<unsigned> number(std::string_view text, unsigned max) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v > max)
        return std::nullopt;
    return v;
}

redis_url_result failure(std::string why) {
    return {std::nullopt, std::move(why)};
}

redis_url_result parse_unix(std::string_view rest) {
    if (rest.starts_with("//"))
        rest.remove_prefix(2);
    redis_address a;
    auto query = rest.find('?');
    if (query != std::string_view::npos) {
        auto q = rest.substr(query + 1);
        rest = rest.substr(0, query);
        if (!q.starts_with("db="))
            return failure("the only query a unix: address takes is ?db=N");
        auto db = number(q.substr(3), 1'000'000);
        if (!db)
            return failure("db must be a number");
        a.database = *db;
    }
    if (!rest.starts_with('/') || rest.size() < 2)
        return failure("a unix: address needs an absolute socket path");
    a.socket_path = std::string(rest);
    return {a, {}};
}

redis_url_result parse_tcp(std::string_view rest) {
    redis_address a;
    // The user information ends at the last '@' (a password may hold '/' or '@'; a host and a
    // database number hold neither).
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        auto user_info = rest.substr(0, at);
        rest = rest.substr(at + 1);
        auto colon = user_info.find(':');
        if (colon == std::string_view::npos) {
            a.password = std::string(user_info);
        } else {
            a.username = std::string(user_info.substr(0, colon));
            a.password = std::string(user_info.substr(colon + 1));
        }
    }
    auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        auto db_text = rest.substr(slash + 1);
        if (!db_text.empty()) {
            auto db = number(db_text, 1'000'000);
            if (!db)
                return failure("the path after the host must be a database number");
            a.database = *db;
        }
    }
    std::string_view port_text;
    if (authority.starts_with('[')) {
        auto close = authority.find(']');
        if (close == std::string_view::npos)
            return failure("an IPv6 host needs its closing ]");
        a.host = std::string(authority.substr(1, close - 1));
        auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                return failure("only :PORT may follow ]");
            port_text = after.substr(1);
        }
    } else {
        auto colon = authority.find(':');
        a.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos)
            port_text = authority.substr(colon + 1);
    }
    if (a.host.empty())
        return failure("the URL names no host");
    if (!port_text.empty() || authority.ends_with(':')) {
        auto port = number(port_text, 65535);
        if (!port || *port == 0)
            return failure("the port must be a number from 1 to 65535");
        a.port = *port;
    }
    return {a, {}};
}

}  // namespace

redis_url_result parse_redis_url(std::string_view url) {
    if (url.starts_with("redis://"))
        return parse_tcp(url.substr(8));
    if (url.starts_with("unix:"))
        return parse_unix(url.substr(5));
    if (url.starts_with("rediss://"))
        return failure("TLS to Redis (rediss://) is not supported: use a unix socket or loopback");
    return failure("it must start with redis:// or unix:");
}

std::string redact_redis_url(std::string_view url) {
    if (!url.starts_with("redis://"))
        return std::string(url);
    auto rest = url.substr(8);
    auto at = rest.rfind('@');
    if (at == std::string_view::npos)
        return std::string(url);
    auto user_info = rest.substr(0, at);
    auto colon = user_info.find(':');
    auto user = colon == std::string_view::npos ? std::string_view{} : user_info.substr(0, colon);
    return "redis://" + std::string(user) + ":***" + std::string(rest.substr(at));
}

}  // namespace outpost::config
