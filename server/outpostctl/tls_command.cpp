// outpostctl tls policy: the MTA-STS policies delivery has cached (spool_dir/mta-sts.sqlite),
// read from the file, so it works with the daemon down; tls report: a day's TLS-RPT report;
// tls dane: what DANE asks of a domain's MX hosts now, from live DNS.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "core/dns/destination.hpp"
#include "core/tlspolicy/cache.hpp"
#include "core/tlspolicy/dane.hpp"
#include "core/tlspolicy/mta_sts.hpp"
#include "core/tlspolicy/tls_report.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

constexpr const char* usage =
    "usage: outpostctl tls policy [DOMAIN] [--format table|json]\n"
    "       outpostctl tls report [--day YYYY-MM-DD] [--domain DOMAIN]\n"
    "       outpostctl tls dane DOMAIN [--format table|json]\n"
    "\n"
    "The MTA-STS policy (RFC 8461) delivery holds for DOMAIN, or for every domain: its mode\n"
    "(enforce: only the listed MX hosts, with STARTTLS and a valid certificate; testing: "
    "reported,\n"
    "not enforced), the MX patterns, the TXT record id it was fetched under, and until when it\n"
    "stays in force without a new fetch. Exits 1 when DOMAIN has no cached policy.\n"
    "\n"
    "report: the TLS-RPT report (RFC 8460 JSON, one line per policy domain) of the sessions\n"
    "delivery had on the day (UTC; default yesterday) with MX hosts under DANE or of domains\n"
    "whose MTA-STS policy was in force: successes, and failures by result type, MX and IP, one\n"
    "per connection. [tls_report] organization and contact fill organization-name and\n"
    "contact-info. outpostd mails each finished day's report to the domain's _smtp._tls rua.\n"
    "Exits 1 when there is nothing to report.\n"
    "\n"
    "dane: DOMAIN's MX hosts as delivery sees them now (delivery.dns_servers, which must be a\n"
    "validating resolver): whether DNSSEC vouches for each (MX and address answers with the AD\n"
    "bit) and, if so, its TLSA records at _PORT._tcp.HOST and what they ask: authenticate (a\n"
    "certificate matching them, or nothing is sent), encrypt-only, lookup-failed (the host is\n"
    "skipped), none. Exits 1 when the MX look-up fails.\n";

// The daemon's policy cache, read in place (so with the daemon down too). Null without a file
// (nothing cached yet); false after printing why it cannot be opened.
bool open_cache(const config::config& cfg, std::unique_ptr<tlspolicy::policy_cache>& cache) {
    auto path = std::filesystem::path(cfg.server.spool_dir) / tlspolicy::policy_cache::default_file;
    if (!std::filesystem::exists(path))
        return true;
    std::string error;
    cache = tlspolicy::policy_cache::open(path.string(), &error);
    if (!cache)
        fmt::print(stderr, "outpostctl tls: {}\n", error);
    return cache != nullptr;
}

void print_table(const tlspolicy::cached_policy& c, std::int64_t now) {
    auto parsed = tlspolicy::parse_sts_policy(c.text);
    fmt::print("domain: {}\n", c.domain);
    if (auto* p = std::get_if<tlspolicy::sts_policy>(&parsed)) {
        fmt::print("mode: {}\n", tlspolicy::to_string(p->mode));
        for (const auto& mx : p->mx)
            fmt::print("mx: {}\n", mx);
        fmt::print("max_age: {}\n", p->max_age);
    } else {
        fmt::print("policy: unreadable ({})\n", std::get<tlspolicy::parse_error>(parsed).message);
    }
    fmt::print("id: {}\n", c.id);
    fmt::print("fetched: {}\n", util::iso8601(c.fetched));
    fmt::print(
        "expires: {}{}\n", util::iso8601(c.expires),
        c.expires <= now ? " (expired: fetched again on use)" : ""
    );
}

boost::json::object as_json(const tlspolicy::cached_policy& c, std::int64_t now) {
    boost::json::object o;
    o["domain"] = c.domain;
    o["id"] = c.id;
    o["fetched"] = util::iso8601(c.fetched);
    o["expires"] = util::iso8601(c.expires);
    o["expired"] = c.expires <= now;
    auto parsed = tlspolicy::parse_sts_policy(c.text);
    if (auto* p = std::get_if<tlspolicy::sts_policy>(&parsed)) {
        o["mode"] = tlspolicy::to_string(p->mode);
        boost::json::array mx;
        for (const auto& m : p->mx)
            mx.emplace_back(m);
        o["mx"] = std::move(mx);
        o["max_age"] = p->max_age;
    }
    return o;
}

bool is_day(const std::string& d) {
    if (d.size() != 10 || d[4] != '-' || d[7] != '-')
        return false;
    for (std::size_t i = 0; i < d.size(); ++i)
        if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9'))
            return false;
    return true;
}

int run_report(context& ctx) {
    auto day = ctx.take_option("--day").value_or(util::utc_date(unix_now() - 86400));
    auto domain = util::to_lower(ctx.take_option("--domain").value_or(""));
    if (ctx.args.size() != 1 || !is_day(day)) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    const auto& cfg = ctx.config();
    std::unique_ptr<tlspolicy::policy_cache> cache;
    if (!open_cache(cfg, cache))
        return exit_failure;
    std::vector<tlspolicy::tls_session> sessions;
    std::vector<tlspolicy::day_policy> policies;
    if (cache) {
        sessions = cache->sessions(day, domain);
        policies = cache->day_policies(day, domain);
    }
    std::set<std::string> domains;
    for (const auto& s : sessions)
        domains.insert(s.domain);
    auto hostname = cfg.server.hostname;
    for (const auto& d : domains) {
        auto meta = tlspolicy::our_report_meta(
            cfg.tls_report.organization, cfg.tls_report.contact, hostname, day, d
        );
        fmt::print("{}\n", tlspolicy::compose_tls_report(meta, day, d, policies, sessions));
    }
    if (domains.empty()) {
        fmt::print(
            stderr,
            "outpostctl tls: no TLS sessions under an MTA-STS or DANE policy counted on {}{}\n",
            day, domain.empty() ? "" : " for " + domain
        );
        return exit_failure;
    }
    return exit_ok;
}

int run_dane(context& ctx) {
    if (ctx.args.size() != 2 || (ctx.format != "table" && ctx.format != "json")) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    const auto& cfg = ctx.config();
    auto domain = util::to_lower(ctx.args[1]);
    dns::resolver_options options;
    for (const auto& e : cfg.delivery.dns_servers)
        options.servers.push_back({e.host, e.port});

    struct host_row {
        std::string host;
        bool secure = false;
        tlspolicy::dane_decision decision;
    };

    std::vector<host_row> rows;
    dns::route_result route;
    bool trusted = false;
    boost::asio::io_context io;
    std::exception_ptr failure;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            auto r = dns::make_cares_resolver(io.get_executor(), options);
            trusted = r->trusts_authenticated_data();
            route = co_await dns::resolve_destination(*r, domain, dns::make_random_index());
            for (const auto& h : route.hosts) {
                host_row row{h.host, h.authenticated, {}};
                if (h.authenticated)
                    row.decision = tlspolicy::decide_dane(
                        h.host, true,
                        co_await r->tlsa(tlspolicy::tlsa_name(h.host, cfg.delivery.port))
                    );
                rows.push_back(std::move(row));
            }
            r->shutdown();
        },
        [&](std::exception_ptr e) { failure = e; }
    );
    io.run();
    if (failure)
        std::rethrow_exception(failure);
    if (route.result != dns::outcome::ok) {
        fmt::print(stderr, "outpostctl tls: {}: {}\n", domain, route.text);
        return exit_failure;
    }
    if (!trusted)
        fmt::print(
            stderr,
            "outpostctl tls: the DNS servers are not all on this host: their AD bit is not "
            "believed, so DANE does not apply\n"
        );
    if (ctx.format == "json") {
        boost::json::array out;
        for (const auto& row : rows) {
            boost::json::array records;
            auto text = tlspolicy::tlsa_text(row.decision.usable);  // the lines point into it
            for (auto line : util::split(text, '\n'))
                if (!line.empty())
                    records.emplace_back(line);
            out.push_back(boost::json::object{
                {"mx", row.host},
                {"dnssec", row.secure},
                {"dane", tlspolicy::to_string(row.decision.state)},
                {"tlsa", std::move(records)},
                {"detail", row.decision.why}});
        }
        fmt::print("{}\n", boost::json::serialize(out));
        return exit_ok;
    }
    for (const auto& row : rows) {
        fmt::print(
            "{}  dnssec={}  dane={}\n", row.host, row.secure ? "yes" : "no",
            tlspolicy::to_string(row.decision.state)
        );
        auto text = tlspolicy::tlsa_text(row.decision.usable);  // the lines point into it
        for (auto line : util::split(text, '\n'))
            if (!line.empty())
                fmt::print("    TLSA {}\n", line);
        if (!row.decision.why.empty())
            fmt::print("    {}\n", row.decision.why);
    }
    return exit_ok;
}

int run_tls(context& ctx) {
    if (!ctx.args.empty() && ctx.args[0] == "report")
        return run_report(ctx);
    if (!ctx.args.empty() && ctx.args[0] == "dane")
        return run_dane(ctx);
    if (ctx.args.empty() || ctx.args[0] != "policy" || ctx.args.size() > 2) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    if (ctx.format != "table" && ctx.format != "json") {
        fmt::print(stderr, "outpostctl tls: --format must be table or json\n");
        return exit_usage;
    }
    std::unique_ptr<tlspolicy::policy_cache> cache;
    if (!open_cache(ctx.config(), cache))
        return exit_failure;
    std::vector<tlspolicy::cached_policy> policies;
    if (cache && ctx.args.size() == 2) {
        if (auto c = cache->get(util::to_lower(ctx.args[1])))
            policies.push_back(std::move(*c));
    } else if (cache) {
        policies = cache->all();
    }
    auto now = unix_now();
    if (ctx.format == "json") {
        boost::json::array out;
        for (const auto& c : policies)
            out.push_back(as_json(c, now));
        fmt::print("{}\n", boost::json::serialize(out));
    } else {
        for (std::size_t i = 0; i < policies.size(); ++i) {
            if (i)
                fmt::print("\n");
            print_table(policies[i], now);
        }
    }
    if (ctx.args.size() == 2 && policies.empty()) {
        fmt::print(stderr, "outpostctl tls: no MTA-STS policy cached for {}\n", ctx.args[1]);
        return exit_failure;
    }
    return exit_ok;
}

const registration tls_registration{
    "tls", "MTA-STS policies delivery holds, DANE, and TLS-RPT reports (tls policy|report|dane)",
    usage, run_tls};

}  // namespace

}  // namespace outpost::ctl
