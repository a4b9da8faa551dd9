// outpostctl doctor: checks the DNS records receivers judge this relay by (SPF, DKIM, DMARC, PTR)
// and prints PASS / WARN / FAIL with the record to publish as the fix.
#include <cstdio>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "core/dkim/key_store.hpp"
#include "core/dns/resolver.hpp"
#include "core/doctor/checks.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

namespace asio = boost::asio;

constexpr const char* usage =
    "usage: outpostctl doctor [DOMAIN] [--format table|json]\n"
    "\n"
    "Checks, for each signing domain ([[dkim]] entries, or DOMAIN alone) and each [[source_ip]],\n"
    "what receivers check: SPF (one v=spf1 record, its syntax, the 10 DNS-lookup and 2 "
    "void-lookup\n"
    "limits, the all qualifier, and an RFC 7208 evaluation of every source address), DKIM (the "
    "key\n"
    "record at selector._domainkey.domain matches the configured private key), DMARC (_dmarc\n"
    "record, policy, alignment) and PTR (forward-confirmed and equal to the EHLO name).\n"
    "Each FAIL and WARN carries the record to publish as the fix. DNS servers: "
    "delivery.dns_servers\n"
    "from the config, else the system configuration.\n"
    "Exits 0 when nothing FAILs (WARNs allowed), 1 when something does, 2 on bad usage.\n";

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += fmt::format("\\{}", c);
        else if (static_cast<unsigned char>(c) < 0x20)
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
            out += c;
    }
    return out + "\"";
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
        doctor::signing_key key{domain, k.selector, std::string{}, k.sign_subdomains};
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
    "doctor", "check SPF, DKIM, DMARC and PTR records as receivers will", usage, run_doctor};

}  // namespace

}  // namespace outpost::ctl
