// outpostctl doctor: checks the DNS records receivers judge this relay by (SPF, DKIM, DMARC, PTR),
// that bounces come back (the bounce domain's MX) and, with --dnsbl, DNSBL listings; prints
// PASS / WARN / FAIL with the record to publish as the fix.
#include <cstdio>
#include <cstring>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/dkim/key_store.hpp"
#include "core/dns/resolver.hpp"
#include "core/doctor/checks.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

namespace asio = boost::asio;

constexpr const char* usage =
    "usage: outpostctl doctor [DOMAIN] [--format table|json] [--dnsbl] [--dnsbl-zone ZONE]...\n"
    "\n"
    "Checks, for each signing domain ([[dkim]] entries, or DOMAIN alone) and each [[source_ip]],\n"
    "what receivers check: SPF (one v=spf1 record, its syntax, the 10 DNS-lookup and 2 "
    "void-lookup\n"
    "limits, the all qualifier, and an RFC 7208 evaluation of every source address), DKIM (the "
    "key\n"
    "record at selector._domainkey.domain matches the configured private key), DMARC (_dmarc\n"
    "record, policy, alignment) and PTR (forward-confirmed and equal to the EHLO name).\n"
    "MX: an MX host of the [bounce] domain resolves to an address where a [[listener]] of this\n"
    "relay takes plain SMTP on port 25 (a wildcard listener counts every address of this host), "
    "so\n"
    "DSNs come back to be classified: PASS; MX pointing elsewhere or no listener on port 25 "
    "there:\n"
    "WARN; no MX, null MX or NXDOMAIN: FAIL with the MX record to publish. Run it on the relay.\n"
    "--dnsbl also looks each [[source_ip]] up in zen.spamhaus.org, bl.spamcop.net and\n"
    "b.barracudacentral.org: listed (127.0.0.x) is a FAIL with the list's reason; not listed a\n"
    "PASS; a refused query (127.255.255.x, e.g. through a public resolver) or a failed look-up a\n"
    "WARN, as the result is unknown. --dnsbl-zone ZONE (repeatable) replaces those lists.\n"
    "Each FAIL and WARN carries the record to publish as the fix. DNS servers: "
    "delivery.dns_servers\n"
    "from the config, else the system configuration.\n"
    "Exits 0 when nothing FAILs (WARNs allowed), 1 when something does, 2 on bad usage.\n";

// The addresses of this host's interfaces (getifaddrs), for listeners on the wildcard address.
std::vector<asio::ip::address> host_addresses() {
    std::vector<asio::ip::address> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0)
        return out;
    for (auto* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        if (i->ifa_addr->sa_family == AF_INET) {
            sockaddr_in sin{};
            std::memcpy(&sin, i->ifa_addr, sizeof sin);
            out.push_back(asio::ip::address_v4(ntohl(sin.sin_addr.s_addr)));
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            sockaddr_in6 sin6{};
            std::memcpy(&sin6, i->ifa_addr, sizeof sin6);
            asio::ip::address_v6::bytes_type bytes;
            std::memcpy(bytes.data(), sin6.sin6_addr.s6_addr, bytes.size());
            out.push_back(asio::ip::address_v6(bytes, sin6.sin6_scope_id));
        }
    }
    ::freeifaddrs(list);
    return out;
}

// Where this relay accepts mail: each listener's address, or for a wildcard listener every address
// of this host and every [[source_ip]] (0.0.0.0 takes IPv4 only, [::] both).
std::vector<doctor::inbound_address> inbound_addresses(const config::config& cfg) {
    std::vector<doctor::inbound_address> out;
    std::optional<std::vector<asio::ip::address>> local;
    for (const auto& l : cfg.listeners) {
        bool implicit = l.tls == config::tls_mode::implicit;
        boost::system::error_code ec;
        auto ip = asio::ip::make_address(l.address.host, ec);
        if (ec)
            continue;
        if (!ip.is_unspecified()) {
            out.push_back({ip, l.address.port, implicit});
            continue;
        }
        if (!local) {
            local = host_addresses();
            for (const auto& s : cfg.source_ips)
                local->push_back(s.address);
        }
        for (const auto& a : *local)
            if (ip.is_v6() || a.is_v4())
                out.push_back({a, l.address.port, implicit});
    }
    return out;
}

doctor::scope make_scope(const config::config& cfg, const std::optional<std::string>& only) {
    doctor::scope s;
    std::set<std::string> seen;
    if (only)
        s.domains.push_back(*only);
    for (const auto& k : cfg.dkim_keys) {
        auto domain = util::to_lower(k.domain);
        if (only && domain != *only)
            continue;
        if (seen.insert(domain).second && !only)
            s.domains.push_back(domain);
        doctor::signing_key key{domain, k.selector, std::string{}, k.sign_subdomains, k.sign};
        auto loaded = dkim::load_private_key_file(k.private_key);
        if (auto* error = std::get_if<std::string>(&loaded))
            key.key = fmt::format("{}: {}", k.private_key, *error);
        else
            key.key = std::move(std::get<dkim::private_key>(loaded));
        s.keys.push_back(std::move(key));
    }
    for (const auto& ip : cfg.source_ips)
        s.sources.push_back({ip.address, ip.ehlo.empty() ? cfg.server.hostname : ip.ehlo});
    s.bounce_domain = cfg.bounce.domain;
    s.report_address = cfg.dmarc.report_address;
    s.mx_host = s.sources.empty() ? cfg.server.hostname : s.sources.front().ehlo;
    s.inbound = inbound_addresses(cfg);
    return s;
}

void print_table(const std::vector<doctor::finding>& findings) {
    for (const auto& f : findings) {
        fmt::print(
            "{}  {:<5}  {}: {}\n", doctor::to_string(f.level), f.check, f.subject, f.message
        );
        for (auto line : util::split(f.fix, '\n'))
            if (!line.empty())
                fmt::print("      fix: {}\n", line);
    }
}

void print_json(const std::vector<doctor::finding>& findings) {
    fmt::print("{{\"findings\":[");
    for (std::size_t i = 0; i < findings.size(); ++i) {
        const auto& f = findings[i];
        fmt::print(
            "{}{{\"verdict\":{},\"check\":{},\"subject\":{},\"message\":{},\"fix\":{}}}",
            i ? "," : "", json_string(doctor::to_string(f.level)), json_string(f.check),
            json_string(f.subject), json_string(f.message), json_string(f.fix)
        );
    }
    fmt::print("]");
}

int run_doctor(context& ctx) {
    if (auto f = ctx.take_option("--format"))
        ctx.format = *f;
    std::vector<std::string> zones;
    bool dnsbl = ctx.take_flag("--dnsbl");
    while (auto z = ctx.take_option("--dnsbl-zone"))
        zones.push_back(*z);
    if (dnsbl && zones.empty())
        zones = doctor::default_dnsbl_zones();
    if (ctx.format != "table" && ctx.format != "json") {
        fmt::print(stderr, "outpostctl doctor: --format must be table or json\n");
        return exit_usage;
    }
    if (ctx.args.size() > 1 || (!ctx.args.empty() && ctx.args[0].starts_with("-"))) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    std::optional<std::string> only;
    if (!ctx.args.empty()) {
        auto d = util::to_lower(ctx.args[0]);
        if (d.ends_with('.'))
            d.pop_back();
        only = d;
    }
    const auto& cfg = ctx.config();
    auto scope = make_scope(cfg, only);
    scope.dnsbl_zones = std::move(zones);
    if (scope.domains.empty()) {
        fmt::print(stderr, "outpostctl doctor: no [[dkim]] entries in the config; name a DOMAIN\n");
        return exit_usage;
    }

    dns::resolver_options options;
    for (const auto& e : cfg.delivery.dns_servers)
        options.servers.push_back({e.host, e.port ? e.port : std::uint16_t{53}});
    asio::io_context io;
    auto resolver = dns::make_cares_resolver(io.get_executor(), options);
    std::vector<doctor::finding> findings;
    std::exception_ptr failure;
    asio::co_spawn(
        io, doctor::examine(*resolver, std::move(scope)),
        [&](std::exception_ptr e, std::vector<doctor::finding> v) {
            failure = e;
            findings = std::move(v);
        }
    );
    io.run();
    if (failure)
        std::rethrow_exception(failure);

    std::size_t counts[3] = {0, 0, 0};
    for (const auto& f : findings)
        ++counts[static_cast<int>(f.level)];
    if (ctx.format == "json") {
        print_json(findings);
        fmt::print(",\"pass\":{},\"warn\":{},\"fail\":{}}}\n", counts[0], counts[1], counts[2]);
    } else {
        print_table(findings);
        fmt::print("{} pass, {} warn, {} fail\n", counts[0], counts[1], counts[2]);
    }
    return counts[static_cast<int>(doctor::verdict::fail)] ? exit_failure : exit_ok;
}

const registration doctor_registration{
    "doctor", "check SPF, DKIM, DMARC, PTR and bounce MX records as receivers will", usage,
    run_doctor};

}  // namespace

}  // namespace outpost::ctl
