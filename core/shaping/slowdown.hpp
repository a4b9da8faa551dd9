// "Slow down" replies: the receiver asks for less traffic (classification rules in slowdown.tsv).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/smtp/reply.hpp"

namespace outpost::shaping {

enum class reply_class { normal, slow_down };

// One row of slowdown.tsv.
struct slowdown_rule {
    std::string code;      // "421" or "4xx"
    std::string enhanced;  // "4.7.28", "4.7.*" or "*"
    std::string text;      // lower-case phrase, or "*"
    std::string why;       // for the log line
    unsigned line = 0;     // in slowdown.tsv
};

// Parses a table in the slowdown.tsv format. On a malformed row: nullopt, and *error says
// "LINE: what". Used for the embedded table (its test) and for tests of the format itself.
std::optional<std::vector<slowdown_rule>> parse_slowdown_rules(
    std::string_view text, std::string* error
);

// The embedded table, parsed once. A malformed embedded table is a build defect caught by the
// unit tests; at run time it yields no rules rather than a crash.
const std::vector<slowdown_rule>& slowdown_rules();

// The first rule the reply matches; nullptr for a normal reply (every 2xx and 5xx reply is).
const slowdown_rule* match_slowdown(const smtp::reply& reply);
const slowdown_rule* match_slowdown(
    const std::vector<slowdown_rule>& rules, const smtp::reply& reply
);

// slow_down when the reply asks the sender to reduce its traffic, normal otherwise.
reply_class classify(const smtp::reply& reply);

namespace detail {
std::string_view embedded_slowdown_rules();
}  // namespace detail

}  // namespace outpost::shaping
