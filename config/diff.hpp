// What a reload changes, in words for the log: "throttle example.com: rate 60/min → 120/min".
#pragma once

#include <string>
#include <vector>

#include "config/schema.hpp"

namespace outpost::config {

// One line per item added, removed or changed between before and after: listeners, TLS, limits,
// relay networks, DKIM keys, source IPs, warming schedules, providers, throttles, routes,
// delivery and log settings, and the sections that only a restart applies (spool and workers,
// AUTH lockout, bounce, admin), which say so. Empty when nothing changed.
std::vector<std::string> describe_changes(const config& before, const config& after);

}  // namespace outpost::config
