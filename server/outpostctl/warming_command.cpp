// outpostctl warming simulate: the warming plan for a daily volume, from the config alone.
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "core/dmarc/health.hpp"
#include "core/shaping/plan.hpp"
#include "core/shaping/pool.hpp"
#include "core/shaping/provider.hpp"
#include "core/shaping/rate.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

constexpr const char* usage =
    "usage: outpostctl warming status [--format table|json]\n"
    "  Per source IP on a warming schedule and provider: the schedule day, how the health gate\n"
    "  decided it, today's cap, sent today and what remains, from SPOOL_DIR/shaping.sqlite.\n"
    "usage: outpostctl warming simulate --volume N/day [--days D] [--start YYYY-MM-DD]\n"
    "                                   [--share PROVIDER=PERCENT,...] [--format table|json]\n"
    "  Prints, day by day and provider by provider, the caps of the source IPs that follow a\n"
    "  warming schedule, the volume they cannot take (overflow: sent through the schedule's\n"
    "  overflow pool, or waiting), and the day from which the full volume goes out. Assumes\n"
    "  every day passes its health gates. The volume is split evenly over the [[provider]]\n"
    "  entries and \"default\" unless --share says otherwise (google=40%,microsoft=0.25).\n"
    "  --start defaults to the earliest warming_start; --days to 30.\n";

std::optional<std::uint64_t> parse_volume(std::string_view text) {
    if (text.find('/') == std::string_view::npos) {
        if (auto r = shaping::parse_rate(std::string(text) + "/day"))
            return r->count;
        return std::nullopt;
    }
    auto r = shaping::parse_rate(text);
    if (!r || r->period != std::chrono::hours(24))
        return std::nullopt;
    return r->count;
}

// "google=40%,microsoft=0.25" → shares; nullopt when malformed.
std::optional<std::map<std::string, double>> parse_shares(std::string_view text) {
    std::map<std::string, double> out;
    for (auto item : util::split(text, ',')) {
        auto eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0)
            return std::nullopt;
        std::string value(item.substr(eq + 1));
        bool percent = !value.empty() && value.back() == '%';
        if (percent)
            value.pop_back();
        char* end = nullptr;
        double v = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !std::isfinite(v))
            return std::nullopt;
        out[std::string(item.substr(0, eq))] = percent ? v / 100 : v;
    }
    return out;
}

std::string cap_text(const std::optional<std::uint64_t>& cap) {
    return cap ? fmt::format("{}", *cap) : std::string("unlimited");
}

void print_table(const shaping::plan& p) {
    fmt::print(
        "warming plan for {} messages/day from {}: {} warming source IP{} ({})\n", p.volume,
        shaping::date_text(p.start), p.warming_ips.size(), p.warming_ips.size() == 1 ? "" : "s",
        fmt::join(p.warming_ips, ", ")
    );
    if (p.overflow_pool.empty())
        fmt::print("overflow waits: no schedule names an overflow pool\n");
    else
        fmt::print("overflow goes to the pool: {}\n", fmt::join(p.overflow_pool, ", "));
    std::vector<std::string> demand;
    for (const auto& d : p.days.front().providers)
        demand.push_back(fmt::format("{} {}", d.provider, d.demand));
    fmt::print("demand per day: {}\n", fmt::join(demand, ", "));
    for (const auto& w : p.warnings)
        fmt::print("warning: {}\n", w);
    fmt::print("\n");
    fmt::print(
        "{:<5} {:<10}  {:<12} {:>10} {:>10} {:>10}\n", "day", "date", "provider", "demand", "cap",
        "overflow"
    );
    for (const auto& d : p.days) {
        for (const auto& x : d.providers)
            fmt::print(
                "{:<5} {:<10}  {:<12} {:>10} {:>10} {:>10}\n", d.number, shaping::date_text(d.date),
                x.provider, x.demand, cap_text(x.cap), x.overflow
            );
    }
    fmt::print("\n");
    if (!p.full_volume_day) {
        fmt::print("full volume: never; a ceiling keeps the caps below the volume\n");
        return;
    }
    auto n = *p.full_volume_day;
    fmt::print(
        "full volume: day {} ({}), {} day{} until full volume\n", n,
        shaping::date_text(p.start + std::chrono::days{n - 1}), n - 1, n - 1 == 1 ? "" : "s"
    );
}

void print_json(const shaping::plan& p) {
    std::vector<std::string> ips, pool, demand, days, warnings;
    for (const auto& w : p.warnings)
        warnings.push_back(json_string(w));
    for (const auto& a : p.warming_ips)
        ips.push_back(json_string(a));
    for (const auto& a : p.overflow_pool)
        pool.push_back(json_string(a));
    for (const auto& [name, n] : p.demand)
        demand.push_back(fmt::format("{}:{}", json_string(name), n));
    for (const auto& d : p.days) {
        std::vector<std::string> rows;
        for (const auto& x : d.providers)
            rows.push_back(fmt::format(
                "{{\"provider\":{},\"demand\":{},\"cap\":{},\"sent\":{},\"overflow\":{}}}",
                json_string(x.provider), x.demand, x.cap ? fmt::format("{}", *x.cap) : "null",
                x.sent, x.overflow
            ));
        days.push_back(fmt::format(
            "{{\"day\":{},\"date\":\"{}\",\"overflow\":{},\"providers\":[{}]}}", d.number,
            shaping::date_text(d.date), d.overflow, fmt::join(rows, ",")
        ));
    }
    std::string full = "null", full_date = "null", until = "null";
    if (p.full_volume_day) {
        full = fmt::format("{}", *p.full_volume_day);
        full_date = fmt::format(
            "\"{}\"", shaping::date_text(p.start + std::chrono::days{*p.full_volume_day - 1})
        );
        until = fmt::format("{}", *p.full_volume_day - 1);
    }
    fmt::print(
        "{{\"volume\":{},\"start\":\"{}\",\"warming_ips\":[{}],\"overflow_pool\":[{}],"
        "\"overflow_to\":\"{}\",\"demand\":{{{}}},\"days\":[{}],\"full_volume_day\":{},"
        "\"full_volume_date\":{},\"days_until_full_volume\":{},\"warnings\":[{}]}}\n",
        p.volume, shaping::date_text(p.start), fmt::join(ips, ","), fmt::join(pool, ","),
        p.overflow_pool.empty() ? "waiting" : "pool", fmt::join(demand, ","), fmt::join(days, ","),
        full, full_date, until, fmt::join(warnings, ",")
    );
}

int simulate(context& ctx) {
    auto volume_text = ctx.take_option("--volume");
    auto days_text = ctx.take_option("--days");
    auto start_text = ctx.take_option("--start");
    auto share_text = ctx.take_option("--share");
    auto bad = [](std::string what) {
        fmt::print(stderr, "outpostctl warming simulate: {}\n{}", what, usage);
        return exit_usage;
    };
    if (!ctx.args.empty())
        return bad(fmt::format("unexpected argument \"{}\"", ctx.args.front()));
    if (ctx.format != "table" && ctx.format != "json")
        return bad("--format must be table or json");
    if (!volume_text)
        return bad("--volume N/day is required");
    shaping::simulation_options o;
    auto volume = parse_volume(*volume_text);
    if (!volume)
        return bad(fmt::format("--volume \"{}\" must be N/day, such as 20000/day", *volume_text));
    o.volume = *volume;
    if (days_text) {
        unsigned d = 0;
        bool digits = !days_text->empty() && days_text->size() <= 4;
        for (char c : *days_text) {
            digits = digits && c >= '0' && c <= '9';
            d = digits ? d * 10 + static_cast<unsigned>(c - '0') : d;
        }
        if (!digits || d < 1 || d > 3650)
            return bad(fmt::format("--days \"{}\" must be a number of days, 1 to 3650", *days_text)
            );
        o.days = d;
    }
    if (start_text) {
        o.start = shaping::parse_date(*start_text);
        if (!o.start)
            return bad(fmt::format("--start \"{}\" must be a date such as 2026-11-20", *start_text)
            );
    }
    if (share_text) {
        auto shares = parse_shares(*share_text);
        if (!shares)
            return bad(fmt::format(
                "--share \"{}\" must be PROVIDER=PERCENT,... such as google=40%", *share_text
            ));
        o.share = *shares;
    }
    const auto& c = ctx.config();
    if (auto e = shaping::plan_error(c, o))
        return bad(*e);
    auto p = shaping::simulate(c, o);
    if (ctx.format == "json")
        print_json(p);
    else
        print_table(p);
    return exit_ok;
}

std::string bar(std::uint64_t sent, const std::optional<std::uint64_t>& cap) {
    constexpr std::uint64_t width = 20;
    if (!cap)
        return "[" + std::string(width, '~') + "]";
    auto filled = *cap == 0 ? width : std::min(width, sent * width / *cap);
    return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
}

int status(context& ctx) {
    if (!ctx.args.empty()) {
        fmt::print(
            stderr, "outpostctl warming status: unexpected argument \"{}\"\n{}", ctx.args.front(),
            usage
        );
        return exit_usage;
    }
    if (ctx.format != "table" && ctx.format != "json") {
        fmt::print(stderr, "outpostctl warming status: --format must be table or json\n");
        return exit_usage;
    }
    const auto& c = ctx.config();
    // Never create the database here: outpostctl may run as another user than the daemon.
    auto path =
        std::filesystem::path(c.server.spool_dir) / shaping::sqlite_counter_store::default_file;
    std::unique_ptr<shaping::counter_store> store;
    if (std::filesystem::exists(path)) {
        std::string error;
        store = shaping::sqlite_counter_store::open(path.string(), &error);
        if (!store) {
            fmt::print(stderr, "outpostctl warming status: {}\n", error);
            return exit_failure;
        }
    } else {
        store = std::make_unique<shaping::memory_counter_store>();
    }
    // The DMARC pass rates the daemon's gates read too.
    std::optional<dmarc::health_counts> with_dmarc;
    shaping::counter_store* counts = store.get();
    if (!c.dmarc.report_address.empty()) {
        with_dmarc.emplace(
            *store, (std::filesystem::path(c.server.spool_dir) / dmarc::default_file).string()
        );
        counts = &*with_dmarc;
    }
    shaping::source_pool pool(c, *counts);
    std::vector<std::string> providers;
    for (const auto& p : c.providers)
        providers.push_back(p.name);
    providers.emplace_back(shaping::default_provider);
    auto now = std::chrono::system_clock::now();
    std::vector<std::string> rows;
    if (ctx.format == "table")
        fmt::print(
            "{:<16} {:<12} {:>4}  {:<12} {:>9} {:>9} {:>9}  {}\n", "ip", "provider", "day", "gate",
            "cap", "sent", "remaining", "today"
        );
    for (std::size_t i = 0; i < c.source_ips.size(); ++i) {
        const auto& ip = c.source_ips[i];
        if (ip.warming.empty())
            continue;
        for (const auto& p : providers) {
            auto r = pool.status(i, p, now);
            if (!r)
                continue;
            auto remaining = r->cap ? (*r->cap > r->sent ? *r->cap - r->sent : 0) : 0;
            auto gate = shaping::gate_name(r->where.last);
            if (ctx.format == "json") {
                rows.push_back(fmt::format(
                    "{{\"ip\":{},\"provider\":{},\"schedule\":{},\"day\":{},\"gate\":\"{}\","
                    "\"reason\":{},\"cap\":{},\"sent\":{},\"remaining\":{}}}",
                    json_string(ip.address.to_string()), json_string(p), json_string(ip.warming),
                    r->where.step + 1, gate, json_string(r->where.reason),
                    r->cap ? fmt::format("{}", *r->cap) : "null", r->sent,
                    r->cap ? fmt::format("{}", remaining) : "null"
                ));
                continue;
            }
            fmt::print(
                "{:<16} {:<12} {:>4}  {:<12} {:>9} {:>9} {:>9}  {}\n", ip.address.to_string(), p,
                r->where.step + 1, gate, cap_text(r->cap), r->sent,
                r->cap ? fmt::format("{}", remaining) : "-", bar(r->sent, r->cap)
            );
            if (!r->where.reason.empty())
                fmt::print("    {}: {}\n", gate, r->where.reason);
        }
    }
    if (ctx.format == "json")
        fmt::print("[{}]\n", fmt::join(rows, ","));
    return exit_ok;
}

int run(context& ctx) {
    if (ctx.args.empty()) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    auto verb = ctx.args.front();
    ctx.args.erase(ctx.args.begin());
    if (verb == "simulate")
        return simulate(ctx);
    if (verb == "status")
        return status(ctx);
    fmt::print(stderr, "outpostctl warming: unknown subcommand \"{}\"\n{}", verb, usage);
    return exit_usage;
}

const registration warming_registration{
    "warming", "IP warming: status (today per IP and provider), simulate --volume N/day (the plan)",
    usage, run};

}  // namespace

}  // namespace outpost::ctl
