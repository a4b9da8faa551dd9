#include "server/outpostctl/api_view.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::ctl {

namespace json = boost::json;

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

std::string text_of(const json::value& v) {
    if (v.is_string())
        return std::string(v.get_string());
    if (v.is_null())
        return "-";
    return json::serialize(v);
}

std::int64_t int_of(const json::value& v) {
    if (v.is_int64())
        return v.get_int64();
    if (v.is_uint64())
        return static_cast<std::int64_t>(v.get_uint64());
    if (v.is_double())
        return static_cast<std::int64_t>(v.get_double());
    return 0;
}

const json::value& field(const json::value& v, std::string_view key) {
    static const json::value null;
    if (!v.is_object())
        return null;
    auto* p = v.get_object().if_contains(key);
    return p ? *p : null;
}

std::string age(std::int64_t seconds) {
    if (seconds < 0)
        seconds = 0;
    return util::format_duration(std::chrono::seconds(seconds));
}

std::string next_text(const json::value& v, std::int64_t now) {
    if (v.is_null())
        return "-";
    auto at = int_of(v);
    return at <= now ? "now" : "in " + age(at - now);
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (width.size() <= i)
                width.push_back(0);
            width[i] = std::max(width[i], r[i].size());
        }
    for (const auto& r : rows) {
        std::string line;
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (i + 1 < r.size())
                line += fmt::format("{:<{}}  ", r[i], width[i]);
            else
                line += r[i];
        }
        fmt::print("{}\n", line);
    }
}

bool bad_format(const context& ctx) {
    if (ctx.format == "table" || ctx.format == "json")
        return false;
    fmt::print(stderr, "outpostctl: --format must be table or json\n");
    return true;
}

std::string json_string(std::string_view s) {
    return json::serialize(json::string_view(s.data(), s.size()));
}

void print_json(const json::value& v) {
    fmt::print("{}\n", json::serialize(v));
}

std::string api_error(const api_reply& r) {
    const auto& e = field(r.body, "error");
    return e.is_string() ? std::string(e.get_string()) : fmt::format("HTTP {}", r.status);
}

int failed_call(const api_result& r) {
    fmt::print(stderr, "outpostctl: cannot talk to outpostd at {}\n", r.reason);
    return exit_failure;
}

std::variant<api_reply, int> daemon_call(
    const config::config& cfg,
    std::string_view method,
    std::string_view target,
    std::string_view down_note
) {
    auto r = call_admin(cfg, method, target);
    if (r.outcome == reach::down) {
        fmt::print(stderr, "outpostctl: outpostd is not running ({}){}\n", r.reason, down_note);
        return exit_daemon_down;
    }
    if (r.outcome == reach::failed)
        return failed_call(r);
    if (r.reply.status != 200) {
        fmt::print(stderr, "outpostctl: {}\n", api_error(r.reply));
        return exit_failure;
    }
    return std::move(r.reply);
}

}  // namespace outpost::ctl
