// Structured logging: one line per event on stderr (logfmt or JSON), for journald and grep.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

namespace outpost::log {

enum class level { debug, info, warn, error };
enum class format { logfmt, json };

// One key=value pair of a log line. Values are formatted with fmt; never pass secrets.
struct field {
    std::string_view key;
    std::string value;

    field(std::string_view k, std::string_view v) : key(k), value(v) {}

    field(std::string_view k, const std::string& v) : key(k), value(v) {}

    field(std::string_view k, const char* v) : key(k), value(v) {}

    template <class T>

    requires std::is_arithmetic_v<T> field(std::string_view k, T v)
        : key(k), value(fmt::format("{}", v)) {}
};

void configure(level min_level, format fmt);
bool enabled(level l);

// Writes one line: ts=... level=... event=<event> key=value ... The line goes out in one write(2),
// so lines from different threads never interleave.
void write(level l, std::string_view event, std::initializer_list<field> fields);

inline void debug(std::string_view event, std::initializer_list<field> fields = {}) {
    if (enabled(level::debug))
        write(level::debug, event, fields);
}

inline void info(std::string_view event, std::initializer_list<field> fields = {}) {
    write(level::info, event, fields);
}

inline void warn(std::string_view event, std::initializer_list<field> fields = {}) {
    write(level::warn, event, fields);
}

inline void error(std::string_view event, std::initializer_list<field> fields = {}) {
    write(level::error, event, fields);
}

// Formats one line without writing it (tests, and the admin endpoint's recent-events view).
std::string render(
    format f,
    level l,
    std::string_view timestamp,
    std::string_view event,
    std::initializer_list<field> fields
);

}  // namespace outpost::log
