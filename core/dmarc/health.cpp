#include "core/dmarc/health.hpp"

#include <filesystem>

namespace outpost::dmarc {

namespace {

constexpr auto reread_after = std::chrono::minutes(1);
constexpr std::int64_t look_back_seconds = 60 * 86400;  // longer than any warming schedule's gate

}  // namespace

health_counts::health_counts(shaping::counter_store& inner, std::string reports_path)
    : inner_(inner), path_(std::move(reports_path)) {}

const std::map<shaping::day, shaping::daily_counts>& health_counts::reported(std::string_view ip) {
    auto now = std::chrono::steady_clock::now();
    auto it = cache_.find(ip);
    if (it != cache_.end() && now - it->second.read < reread_after)
        return it->second.days;
    if (it == cache_.end())
        it = cache_.emplace(std::string(ip), cached{}).first;
    it->second.read = now;
    it->second.days.clear();
    std::error_code ec;
    if (!reports_ && std::filesystem::exists(path_, ec))
        reports_ = store::open(path_, nullptr);
    if (!reports_)
        return it->second.days;
    auto since = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()
                 )
                     .count() -
                 look_back_seconds;
    for (const auto& d : reports_->ip_days(ip, since)) {
        // A period that ends at midnight (the usual "end": 23:59:59 or the next 00:00:00) is
        // about the day before it.
        auto day = std::chrono::floor<std::chrono::days>(
            std::chrono::sys_seconds(std::chrono::seconds(d.end - 1))
        );
        auto& counts = it->second.days[shaping::day(day)];
        counts.dmarc_messages += d.counts.messages;
        counts.dmarc_pass += d.counts.dmarc_pass;
    }
    return it->second.days;
}

std::map<shaping::day, shaping::daily_counts> health_counts::history(
    std::string_view ip, std::string_view provider, shaping::day from, shaping::day to
) {
    auto days = inner_.history(ip, provider, from, to);
    for (const auto& [d, counts] : reported(ip))
        if (d >= from && d <= to) {
            days[d].dmarc_messages += counts.dmarc_messages;
            days[d].dmarc_pass += counts.dmarc_pass;
        }
    return days;
}

}  // namespace outpost::dmarc
