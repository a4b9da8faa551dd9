// outpostctl dmarc summary|sources: what DMARC aggregate reports said about mail sent as our
// domains, read from spool_dir/dmarc.sqlite (so with the daemon down too).
#include <chrono>
#include <filesystem>
#include <map>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <fmt/format.h>

#include "core/dmarc/sources.hpp"
#include "core/dmarc/store.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

constexpr const char* usage =
    "usage: outpostctl dmarc summary [--days N] [--domain D] [--format table|json|csv]\n"
    "       outpostctl dmarc sources [--days N] [--domain D] [--format table|json|csv]\n"
    "\n"
    "summary: per From domain and source IP, over the reports whose period ended in the last N\n"
    "days (default 7): messages the receivers counted, and the share that passed DKIM aligned,\n"
    "SPF aligned, and DMARC (either); then the organisations that reported most, per domain.\n"
    "sources: the same rows for source IPs that are not ours (not a [[source_ip]], not in\n"
    "[dmarc] own_networks): someone sending as our domains (spoofing), or a service of ours\n"
    "nobody told us about. Exits 1 when there are any.\n"
    "Reports arrive by mail at [dmarc] report_address (gzip, zip or XML); outpostd stores them,\n"
    "once per reporter and report id.\n";

std::string percent(std::uint64_t part, std::uint64_t whole) {
    return whole ? fmt::format(
                       "{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole)
                   )
                 : "-";
}

bool ours(const config::config& cfg, const std::string& ip) {
    return dmarc::own_source(cfg, ip);
}

int run_dmarc(context& ctx) {
    if (ctx.args.empty() || (ctx.args[0] != "summary" && ctx.args[0] != "sources")) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    bool sources_only = ctx.args[0] == "sources";
    auto days = ctx.take_count("--days").value_or(7);
    auto domain = ctx.take_option("--domain").value_or("");
    if (ctx.args.size() != 1 ||
        (ctx.format != "table" && ctx.format != "json" && ctx.format != "csv")) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    const auto& cfg = ctx.config();
    auto path = std::filesystem::path(cfg.server.spool_dir) / dmarc::default_file;
    if (!std::filesystem::exists(path)) {
        fmt::print(
            stderr, "outpostctl dmarc: no reports received yet ({} does not exist)\n", path.string()
        );
        return sources_only ? exit_ok : exit_failure;
    }
    std::string error;
    auto store = dmarc::store::open(path.string(), &error);
    if (!store) {
        fmt::print(stderr, "outpostctl dmarc: {}\n", error);
        return exit_failure;
    }
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()
    )
                   .count();
    auto since = now - static_cast<std::int64_t>(days) * 86400;
    auto rows = store->sources(since, util::to_lower(domain));
    std::vector<dmarc::source_row> shown;
    for (auto& r : rows)
        if (!sources_only || !ours(cfg, r.source_ip))
            shown.push_back(std::move(r));
    auto reporters = store->reporters(since, util::to_lower(domain));

    if (ctx.format == "json") {
        boost::json::object doc;
        doc["days"] = days;
        doc["reports"] = store->reports(since);
        boost::json::array items;
        for (const auto& r : shown)
            items.push_back(boost::json::object{
                {"domain", r.domain},
                {"source_ip", r.source_ip},
                {"ours", ours(cfg, r.source_ip)},
                {"messages", r.counts.messages},
                {"dkim_aligned", r.counts.dkim_aligned},
                {"spf_aligned", r.counts.spf_aligned},
                {"dmarc_pass", r.counts.dmarc_pass},
            });
        doc["sources"] = std::move(items);
        if (!sources_only) {
            boost::json::array orgs;
            for (const auto& r : reporters)
                orgs.push_back(boost::json::object{
                    {"domain", r.domain}, {"org_name", r.org_name}, {"messages", r.messages}});
            doc["reporters"] = std::move(orgs);
        }
        print_json(doc);
    } else if (ctx.format == "csv") {
        fmt::print("domain,source_ip,ours,messages,dkim_aligned,spf_aligned,dmarc_pass\n");
        for (const auto& r : shown)
            fmt::print(
                "{},{},{},{},{},{},{}\n", r.domain, r.source_ip,
                ours(cfg, r.source_ip) ? "yes" : "no", r.counts.messages, r.counts.dkim_aligned,
                r.counts.spf_aligned, r.counts.dmarc_pass
            );
    } else {
        std::vector<std::vector<std::string>> table{
            {"DOMAIN", "SOURCE IP", "OURS", "MESSAGES", "DKIM", "SPF", "DMARC PASS"}};
        for (const auto& r : shown)
            table.push_back(
                {r.domain, r.source_ip, ours(cfg, r.source_ip) ? "yes" : "no",
                 std::to_string(r.counts.messages),
                 percent(r.counts.dkim_aligned, r.counts.messages),
                 percent(r.counts.spf_aligned, r.counts.messages),
                 percent(r.counts.dmarc_pass, r.counts.messages)}
            );
        print_table(table);
        if (!sources_only && !reporters.empty()) {
            fmt::print("\n");
            std::vector<std::vector<std::string>> orgs{{"DOMAIN", "REPORTER", "MESSAGES"}};
            std::map<std::string, int> per_domain;
            for (const auto& r : reporters)
                if (++per_domain[r.domain] <= 5)  // the top five of each domain
                    orgs.push_back({r.domain, r.org_name, std::to_string(r.messages)});
            print_table(orgs);
        }
    }
    if (sources_only)
        return shown.empty() ? exit_ok : exit_failure;
    return exit_ok;
}

const registration dmarc_registration{
    "dmarc",
    "what DMARC aggregate reports say about mail sent as our domains (dmarc summary|sources)",
    usage, run_dmarc};

}  // namespace

}  // namespace outpost::ctl
