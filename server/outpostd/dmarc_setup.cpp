#include "server/outpostd/dmarc_setup.hpp"

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <variant>

#include <fmt/format.h>

#include "core/dmarc/report.hpp"
#include "core/util/log.hpp"
#include "core/util/offload.hpp"

namespace outpost::daemon {

namespace fs = std::filesystem;

report_intake::report_intake(const config::config& cfg, boost::asio::thread_pool& workers)
    : cfg_(cfg), aside_(fs::path(cfg.server.spool_dir) / "dmarc-unreadable"), workers_(workers) {
    std::string error;
    store_ =
        dmarc::store::open((fs::path(cfg.server.spool_dir) / dmarc::default_file).string(), &error);
    if (!store_)
        throw std::runtime_error("DMARC reports: " + error);
}

void report_intake::keep_aside(
    const std::string& id, std::string_view message, const std::string& why
) {
    ++seen_.unreadable;
    std::error_code ec;
    fs::create_directories(aside_, ec);
    auto path = aside_ / (id + ".eml");
    std::ofstream(path, std::ios::binary)
        .write(message.data(), static_cast<std::streamsize>(message.size()));
    log::warn("dmarc_report_unreadable", {{"id", id}, {"error", why}, {"kept", path.string()}});
}

std::map<std::string, dmarc::domain_totals> report_intake::totals() const {
    auto since = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()
                 )
                     .count() -
                 7 * 86400;
    return dmarc::totals_by_domain(cfg_, store_->sources(since, ""));
}

void report_intake::merge(const dmarc::report& r) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()
    )
                   .count();
    if (store_->add(r, now) == dmarc::store::added::yes)
        log::info(
            "dmarc_report_merged",
            {{"org", r.org_name}, {"report_id", r.report_id}, {"records", r.records.size()}}
        );
}

boost::asio::awaitable<std::optional<std::string>> report_intake::receive(
    const std::string& id, std::string_view message
) {
    struct parsed {
        std::string name;
        std::variant<dmarc::report, std::string> result;
    };

    std::string copy(message);
    auto reports = co_await util::offload(workers_, [&copy] {
        std::vector<parsed> out;
        for (auto& x : dmarc::extract_reports(copy)) {
            if (!x.error.empty())
                out.push_back({x.name, x.error});
            else
                out.push_back({x.name, dmarc::parse_report(x.xml)});
        }
        return out;
    });
    if (reports.empty()) {
        keep_aside(id, message, "no gzip, zip or XML report in the message");
        co_return "no report found (kept aside)";
    }
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()
    )
                   .count();
    std::string summary;
    std::string unreadable;
    for (auto& p : reports) {
        if (auto* why = std::get_if<std::string>(&p.result)) {
            unreadable += fmt::format("{}: {}; ", p.name, *why);
            continue;
        }
        const auto& r = std::get<dmarc::report>(p.result);
        auto added = store_->add(r, now);
        if (added == dmarc::store::added::failed) {
            log::error("dmarc_store_failed", {{"id", id}, {"error", store_->last_error()}});
            co_return std::nullopt;
        }
        bool duplicate = added == dmarc::store::added::duplicate;
        ++(duplicate ? seen_.duplicates : seen_.stored);
        if (!duplicate && stored_)
            stored_(r);
        summary += fmt::format(
            "{} {} from {} ({} records){}; ", r.policy_domain, r.report_id, r.org_name,
            r.records.size(), duplicate ? ": duplicate, ignored" : ""
        );
    }
    if (!unreadable.empty()) {
        keep_aside(id, message, unreadable);
        summary += unreadable;
    }
    co_return summary;
}

}  // namespace outpost::daemon
