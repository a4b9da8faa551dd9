#include "config/http_url.hpp"

#include <functional>

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::config {

namespace {

bool loopback(const std::string& host) {
    if (util::iequals(host, "localhost"))
        return true;
    boost::system::error_code ec;
    auto ip = boost::asio::ip::make_address(host, ec);
    return !ec && ip.is_loopback();
}

}  // namespace

http_url_result parse_http_url(std::string_view url) {
    http_url_result r;
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed) {
        r.error = "is not a URL";
        return r;
    }
    auto u = *parsed;
    http_address a;
    auto scheme = std::string(u.scheme());
    if (util::iequals(scheme, "https"))
        a.tls = true;
    else if (util::iequals(scheme, "http"))
        a.tls = false;
    else {
        r.error = "must start with https://";
        return r;
    }
    if (u.has_userinfo()) {
        r.error = "must not carry a user or password (the secret signs each request)";
        return r;
    }
    a.host = u.host_type() == boost::urls::host_type::ipv6 ? u.host_ipv6_address().to_string()
                                                           : std::string(u.encoded_host());
    if (a.host.empty()) {
        r.error = "has no host";
        return r;
    }
    if (!a.tls && !loopback(a.host)) {
        r.error = "is http:// to a host that is not loopback: use https://";
        return r;
    }
    a.port = a.tls ? 443 : 80;
    if (u.has_port()) {
        if (u.port_number() == 0) {
            r.error = "has a port that is not 1-65535";
            return r;
        }
        a.port = u.port_number();
    }
    a.target = std::string(u.encoded_path());
    if (a.target.empty())
        a.target = "/";
    if (u.has_query())
        a.target += "?" + std::string(u.encoded_query());
    r.address = std::move(a);
    return r;
}

std::string redact_http_url(std::string_view url) {
    auto r = parse_http_url(url);
    if (!r.address)
        return "(not a URL)";
    const auto& a = *r.address;
    auto host = a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host;
    return fmt::format(
        "{}://{}:{}/... ({:08x})", a.tls ? "https" : "http", host, a.port,
        std::hash<std::string_view>{}(url)&0xffffffffu
    );
}

}  // namespace outpost::config
