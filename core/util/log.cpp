#include "core/util/log.hpp"

#include <atomic>
#include <chrono>
#include <ctime>

#include <unistd.h>

#include "core/util/text.hpp"

namespace outpost::log {

namespace {

std::atomic<level> min_level_{level::info};
std::atomic<format> format_{format::logfmt};

std::string_view level_name(level l) {
    switch (l) {
        case level::debug:
            return "debug";
        case level::info:
            return "info";
        case level::warn:
            return "warn";
        case level::error:
            return "error";
    }
    return "info";
}

bool needs_quotes(std::string_view v) {
    if (v.empty())
        return true;
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (u <= ' ' || c == '"' || c == '=' || c == '\\' || u >= 0x7f)
            return true;
    }
    return false;
}

// Escapes control characters so a client-supplied value can never start a new log line, and
// bytes that are not well-formed UTF-8 as "\xNN" (JSON: "\\xNN"), so a JSON log stays valid
// JSON whatever a client sent; well-formed UTF-8 stays readable.
void append_escaped(std::string& out, std::string_view v, bool json) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        char c = v[i];
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) {
            if (auto n = util::utf8_sequence(v.substr(i))) {
                out += v.substr(i, n);
                i += n - 1;
            } else {
                out += json ? fmt::format("\\\\x{:02x}", u) : fmt::format("\\x{:02x}", u);
            }
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (u < 0x20 || u == 0x7f)
                    out += json ? fmt::format("\\u{:04x}", u) : fmt::format("\\x{:02x}", u);
                else
                    out += c;
        }
    }
}

void append_logfmt(std::string& out, std::string_view key, std::string_view value) {
    if (!out.empty())
        out += ' ';
    out += key;
    out += '=';
    if (needs_quotes(value)) {
        out += '"';
        append_escaped(out, value, false);
        out += '"';
    } else {
        out += value;
    }
}

void append_json(std::string& out, std::string_view key, std::string_view value) {
    out += out.size() > 1 ? ",\"" : "\"";
    append_escaped(out, key, true);
    out += "\":\"";
    append_escaped(out, value, true);
    out += '"';
}

std::string now_text() {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::system_clock::to_time_t(now);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
        tm.tm_hour, tm.tm_min, tm.tm_sec, ms
    );
}

}  // namespace

void configure(level min_level, format f) {
    min_level_ = min_level;
    format_ = f;
}

bool enabled(level l) {
    return static_cast<int>(l) >= static_cast<int>(min_level_.load());
}

std::string render(
    format f,
    level l,
    std::string_view timestamp,
    std::string_view event,
    std::initializer_list<field> fields
) {
    std::string out;
    out.reserve(128);
    if (f == format::json) {
        out += '{';
        append_json(out, "ts", timestamp);
        append_json(out, "level", level_name(l));
        append_json(out, "event", event);
        for (const auto& fl : fields)
            append_json(out, fl.key, fl.value);
        out += '}';
    } else {
        append_logfmt(out, "ts", timestamp);
        append_logfmt(out, "level", level_name(l));
        append_logfmt(out, "event", event);
        for (const auto& fl : fields)
            append_logfmt(out, fl.key, fl.value);
    }
    out += '\n';
    return out;
}

void write(level l, std::string_view event, std::initializer_list<field> fields) {
    if (!enabled(l))
        return;
    auto line = render(format_.load(), l, now_text(), event, fields);
    // One write(2) keeps lines whole; a short write to stderr is not worth retrying.
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace outpost::log
