// The warming plan for a daily volume: day by day and provider by provider, what the warming
// source IPs may send, what overflows, and when the full volume goes out (outpostctl warming
// simulate). Pure: assumes every day passes its health gates.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/schema.hpp"
#include "core/shaping/warming.hpp"

namespace outpost::shaping {

struct simulation_options {
    std::uint64_t volume = 0;  // messages per day, over all providers
    unsigned days = 30;        // days to list
    std::optional<day> start;  // first listed day; default: the earliest warming_start
    // Share of the volume per provider (0..1); providers not named split the rest evenly.
    std::map<std::string, double> share;
};

struct provider_day {
    std::string provider;
    std::uint64_t demand = 0;          // the provider's share of the day's volume
    std::optional<std::uint64_t> cap;  // sum over the warming IPs; nullopt = unlimited
    std::uint64_t sent = 0;            // min(demand, cap)
    std::uint64_t overflow = 0;        // demand - sent
};

struct plan_day {
    day date{};
    unsigned number = 1;  // 1 = the first listed day
    std::vector<provider_day> providers;
    std::uint64_t overflow = 0;  // over all providers
};

struct plan {
    std::uint64_t volume = 0;
    day start{};
    std::vector<std::string> warming_ips;  // source IPs with a schedule
    std::vector<std::string> overflow_pool;
    std::map<std::string, std::uint64_t> demand;  // provider → messages per day
    std::vector<plan_day> days;
    // First day number from which nothing overflows any more (may lie beyond the listed days);
    // nullopt when that does not happen within ten years (a ceiling below the volume).
    std::optional<unsigned> full_volume_day;
    // Where a schedule's per-provider override ends and that provider's cap jumps (to the
    // ceiling, or unlimited) by more than the doubling a ramp usually allows, once per schedule
    // and provider: "warming.standard: the override for google ends after day 3 (cap 1000);
    // from day 4 google is unlimited (no ceiling)".
    std::vector<std::string> warnings;
};

// The override-end warnings of one schedule (see plan::warnings).
std::vector<std::string> override_warnings(std::string_view name, const schedule& s);

// Splits volume over the providers of c ([[provider]] names, then default_provider) by share; a
// share that does not parse or names an unknown provider is the caller's to refuse (see
// plan_error).
plan simulate(const config::config& c, const simulation_options& options);

// Why options cannot be simulated against c ("share names no provider \"x\""); nullopt when fine.
std::optional<std::string> plan_error(const config::config& c, const simulation_options& options);

}  // namespace outpost::shaping
