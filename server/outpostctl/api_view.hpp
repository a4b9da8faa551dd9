// Rendering what the admin endpoint answers: JSON fields as display text, tables, and the
// messages every command that talks to outpostd prints the same way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "server/outpostctl/admin_client.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

std::int64_t unix_now();

// A json value as display text: strings unquoted, null as "-".
std::string text_of(const boost::json::value& v);
std::int64_t int_of(const boost::json::value& v);
// v[key], or null when v is not an object or has no such key.
const boost::json::value& field(const boost::json::value& v, std::string_view key);

// "3m 20s"; negative ages count as zero.
std::string age(std::int64_t seconds);
// "now", "in 3m 20s", or "-" for null.
std::string next_text(const boost::json::value& v, std::int64_t now);

// Columns sized to their widest cell; the last column is not padded.
void print_table(const std::vector<std::vector<std::string>>& rows);
void print_json(const boost::json::value& v);
// s as a JSON string literal, quotes included, for output written piece by piece.
std::string json_string(std::string_view s);

// True (after saying so) when --format is neither table nor json.
bool bad_format(const context& ctx);

// The daemon's error message, or the HTTP status when it sent none.
std::string api_error(const api_reply& r);
// "cannot talk to outpostd at ...": exit_failure.
int failed_call(const api_result& r);

// A call that needs the running daemon: its reply when it answered 200; otherwise what went
// wrong is said on stderr and the exit code returned (exit_daemon_down when it is not running,
// with down_note after the reason; exit_failure for errors).
std::variant<api_reply, int> daemon_call(
    const config::config& cfg,
    std::string_view method,
    std::string_view target,
    std::string_view down_note = {}
);

}  // namespace outpost::ctl
