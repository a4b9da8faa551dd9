// outpostctl dns: looks a destination up the way delivery does, with the real c-ares resolver.
#include <charconv>
#include <cstdio>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "core/dns/destination.hpp"
#include "core/dns/resolver.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

namespace asio = boost::asio;

constexpr const char* usage =
    "usage: outpostctl dns mx DOMAIN [--server IP:PORT]... [--seed N] [--format table|json]\n"
    "       outpostctl dns a|aaaa|address|txt|ptr NAME [--server IP:PORT]... [--format ...]\n"
    "\n"
    "Resolves DOMAIN as delivery does: MX records ordered by preference (equal preferences\n"
    "shuffled; --seed fixes the order), the implicit MX when there is none, and each host's\n"
    "addresses. Null MX and NXDOMAIN are permanent failures, SERVFAIL and timeouts temporary.\n"
    "DNS servers: --server (repeatable), else delivery.dns_servers from --config, else the\n"
    "system configuration. Exits 0 when there are hosts to try, 1 otherwise.\n"
    "The other look-ups print the status and records of one query (PTR takes an IP address)\n"
    "and exit 0 when it found records.\n";

// "127.0.0.1:5353", "[::1]:5353", or an address alone (port 53).
std::optional<dns::server_address> parse_server(std::string_view text) {
    dns::server_address s;
    auto colon = text.rfind(':');
    bool bracketed = text.starts_with('[');
    if (bracketed) {
        auto close = text.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        s.ip = std::string(text.substr(1, close - 1));
        if (close + 1 == text.size())
            return s;
        if (text[close + 1] != ':')
            return std::nullopt;
        colon = close + 1;
    } else if (colon == std::string_view::npos || text.find(':') != colon) {
        s.ip = std::string(text);  // no port, or a bare IPv6 address
        return s;
    } else {
        s.ip = std::string(text.substr(0, colon));
    }
    auto port = text.substr(colon + 1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), s.port);
    if (ec != std::errc{} || end != port.data() + port.size() || s.port == 0)
        return std::nullopt;
    return s;
}

void print_json(const std::string& domain, const dns::route_result& r) {
    fmt::print(
        "{{\"domain\":{},\"result\":{},\"implicit\":{}", json_string(domain),
        json_string(dns::to_string(r.result)), r.implicit ? "true" : "false"
    );
    if (r.result != dns::outcome::ok)
        fmt::print(",\"enhanced\":{},\"text\":{}", json_string(r.enhanced), json_string(r.text));
    fmt::print(",\"hosts\":[");
    for (std::size_t i = 0; i < r.hosts.size(); ++i) {
        const auto& h = r.hosts[i];
        fmt::print(
            "{}{{\"host\":{},\"preference\":{},\"addresses\":[", i ? "," : "", json_string(h.host),
            h.preference
        );
        for (std::size_t j = 0; j < h.addresses.size(); ++j)
            fmt::print("{}{}", j ? "," : "", json_string(h.addresses[j].to_string()));
        fmt::print("]}}");
    }
    fmt::print("]}}\n");
}

void print_table(const std::string& domain, const dns::route_result& r) {
    if (r.result != dns::outcome::ok) {
        fmt::print("{}: {} {} {}\n", domain, dns::to_string(r.result), r.enhanced, r.text);
        return;
    }
    fmt::print("{:<4} {:<10} {:<40} {}\n", "#", "preference", "host", "addresses");
    std::size_t n = 0;
    for (const auto& h : r.hosts) {
        std::string addresses;
        for (const auto& a : h.addresses)
            addresses += (addresses.empty() ? "" : " ") + a.to_string();
        fmt::print("{:<4} {:<10} {:<40} {}\n", ++n, h.preference, h.host, addresses);
    }
    if (r.implicit)
        fmt::print("(no MX records: implicit MX, RFC 5321 §5.1)\n");
}

template <class T>
std::string text(const T& v) {
    if constexpr (std::is_same_v<T, std::string>)
        return v;
    else
        return v.to_string();
}

template <class T>
int print_answer(const context& ctx, const std::string& name, const dns::answer<T>& a) {
    if (ctx.format == "json") {
        fmt::print(
            "{{\"name\":{},\"status\":{},\"ttl\":{},\"records\":[", json_string(name),
            json_string(dns::to_string(a.result)), a.ttl.count()
        );
        for (std::size_t i = 0; i < a.records.size(); ++i)
            fmt::print("{}{}", i ? "," : "", json_string(text(a.records[i])));
        fmt::print("]}}\n");
    } else {
        fmt::print("{}: {} ttl={}\n", name, dns::to_string(a.result), a.ttl.count());
        for (const auto& r : a.records)
            fmt::print("{}\n", text(r));
    }
    return a.ok() && !a.records.empty() ? exit_ok : exit_failure;
}

// One query of one type, printed as is: for checking what the resolver sees.
int run_lookup(
    const context& ctx,
    const dns::resolver_options& options,
    const std::string& kind,
    const std::string& name
) {
    asio::ip::address ip;
    if (kind == "ptr") {
        boost::system::error_code ec;
        ip = asio::ip::make_address(name, ec);
        if (ec) {
            fmt::print(stderr, "outpostctl dns ptr: {} is not an IP address\n", name);
            return exit_usage;
        }
    } else if (kind != "a" && kind != "aaaa" && kind != "address" && kind != "txt") {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    asio::io_context io;
    auto r = dns::make_cares_resolver(io.get_executor(), options);
    int rc = exit_failure;
    std::exception_ptr failure;
    auto run = [&]() -> asio::awaitable<void> {
        if (kind == "a")
            rc = print_answer(ctx, name, co_await r->a(name));
        else if (kind == "aaaa")
            rc = print_answer(ctx, name, co_await r->aaaa(name));
        else if (kind == "address")
            rc = print_answer(ctx, name, co_await r->address(name));
        else if (kind == "txt")
            rc = print_answer(ctx, name, co_await r->txt(name));
        else
            rc = print_answer(ctx, name, co_await r->ptr(ip));
    };
    asio::co_spawn(io, run, [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure)
        std::rethrow_exception(failure);
    return rc;
}

int run_dns(context& ctx) {
    dns::resolver_options options;
    while (auto s = ctx.take_option("--server")) {
        auto server = parse_server(*s);
        if (!server) {
            fmt::print(stderr, "outpostctl dns: --server {}: expected IP[:PORT]\n", *s);
            return exit_usage;
        }
        options.servers.push_back(*server);
    }
    if (options.servers.empty() && ctx.config_path) {
        for (const auto& e : ctx.config().delivery.dns_servers)
            options.servers.push_back({e.host, e.port ? e.port : std::uint16_t{53}});
    }
    auto pick = dns::make_random_index();
    if (auto seed = ctx.take_option("--seed")) {
        std::uint64_t v = 0;
        auto [end, ec] = std::from_chars(seed->data(), seed->data() + seed->size(), v);
        if (ec != std::errc{} || end != seed->data() + seed->size()) {
            fmt::print(stderr, "outpostctl dns: --seed needs a number\n");
            return exit_usage;
        }
        pick = dns::make_random_index(v);
    }
    if (ctx.args.size() != 2) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    if (ctx.format != "table" && ctx.format != "json") {
        fmt::print(stderr, "outpostctl dns: --format must be table or json\n");
        return exit_usage;
    }
    auto kind = ctx.args[0];
    auto domain = ctx.args[1];
    if (kind != "mx")
        return run_lookup(ctx, options, kind, domain);

    asio::io_context io;
    auto r = dns::make_cares_resolver(io.get_executor(), options);
    dns::route_result result;
    std::exception_ptr failure;
    asio::co_spawn(
        io, dns::resolve_destination(*r, domain, pick),
        [&](std::exception_ptr e, dns::route_result v) {
            failure = e;
            result = std::move(v);
        }
    );
    io.run();
    if (failure)
        std::rethrow_exception(failure);
    if (ctx.format == "json")
        print_json(domain, result);
    else
        print_table(domain, result);
    return result.result == dns::outcome::ok ? exit_ok : exit_failure;
}

const registration dns_registration{
    "dns", "resolve a destination as delivery does (MX, addresses)", usage, run_dns};

}  // namespace

}  // namespace outpost::ctl
