// outpostctl suppression: list, add, remove and check entries of the suppression list.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "core/suppression/sqlite_store.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

using suppression::entry;

constexpr const char* usage_text =
    "usage: outpostctl suppression list [--reason R] [--since YYYY-MM-DD] [--limit N]\n"
    "                                   [--format table|csv|json]\n"
    "       outpostctl suppression add ADDRESS --reason R [--status CODE] [--message-id ID]\n"
    "       outpostctl suppression remove ADDRESS\n"
    "       outpostctl suppression check ADDRESS     (alias: show)\n"
    "  The list lives in SPOOL_DIR/suppression.sqlite ([server] spool_dir of --config);\n"
    "  --db PATH names another file. Works whether or not the daemon runs (SQLite WAL).\n"
    "  check exits 0 and prints the entry when the address is suppressed, 1 when it is not.\n";

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

std::string iso_time(std::int64_t t) {
    auto seconds = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// "2026-11-20" (UTC midnight) or a number of unix seconds; nullopt when neither.
std::optional<std::int64_t> parse_since(const std::string& text) {
    int y = 0;
    unsigned m = 0, d = 0;
    char tail = 0;
    if (std::sscanf(text.c_str(), "%d-%u-%u%c", &y, &m, &d, &tail) == 3) {
        std::chrono::year_month_day ymd{
            std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
        if (!ymd.ok())
            return std::nullopt;
        return std::chrono::sys_days{ymd}.time_since_epoch().count() * 86400;
    }
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos)
        return std::stoll(text);
    return std::nullopt;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos)
        return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_of(const entry& e) {
    return fmt::format(
        "{{\"address\":{},\"reason\":{},\"status\":{},\"source\":{},\"first_seen\":{},"
        "\"last_seen\":{},\"count\":{},\"message_id\":{}}}",
        json_string(e.address), json_string(e.reason), json_string(e.status),
        json_string(std::string(suppression::to_string(e.origin))),
        json_string(iso_time(e.first_seen)), json_string(iso_time(e.last_seen)), e.count,
        json_string(e.message_id)
    );
}

void print_entries(const std::vector<entry>& entries, const std::string& format) {
    if (format == "json") {
        for (const auto& e : entries)
            fmt::print("{}\n", json_of(e));
    } else if (format == "csv") {
        fmt::print("address,reason,status,source,first_seen,last_seen,count,message_id\n");
        for (const auto& e : entries)
            fmt::print(
                "{},{},{},{},{},{},{},{}\n", csv_field(e.address), csv_field(e.reason),
                csv_field(e.status), suppression::to_string(e.origin), iso_time(e.first_seen),
                iso_time(e.last_seen), e.count, csv_field(e.message_id)
            );
    } else {
        fmt::print(
            "{:<40} {:<16} {:<8} {:<10} {:<20} {:>5}\n", "ADDRESS", "REASON", "STATUS", "SOURCE",
            "LAST SEEN", "COUNT"
        );
        for (const auto& e : entries)
            fmt::print(
                "{:<40} {:<16} {:<8} {:<10} {:<20} {:>5}\n", e.address, e.reason, e.status,
                suppression::to_string(e.origin), iso_time(e.last_seen), e.count
            );
    }
}

int run(context& ctx) {
    auto db = ctx.take_option("--db");
    if (ctx.args.empty()) {
        fmt::print(stderr, "{}", usage_text);
        return exit_usage;
    }
    auto word = ctx.args[0];
    if (word != "list" && word != "add" && word != "remove" && word != "check" && word != "show") {
        fmt::print(stderr, "{}", usage_text);
        return exit_usage;
    }
    std::string path;
    if (db) {
        path = *db;
    } else {
        path = (std::filesystem::path(ctx.config().server.spool_dir) /
                suppression::sqlite_store::default_file)
                   .string();
    }
    std::string error;
    auto store = suppression::sqlite_store::open(path, &error);
    if (!store) {
        fmt::print(stderr, "outpostctl suppression: {}\n", error);
        return exit_failure;
    }

    if (word == "list") {
        suppression::list_filter filter;
        if (auto r = ctx.take_option("--reason"))
            filter.reason = *r;
        if (auto since = ctx.take_option("--since")) {
            filter.since = parse_since(*since);
            if (!filter.since) {
                fmt::print(stderr, "outpostctl suppression: --since wants YYYY-MM-DD\n");
                return exit_usage;
            }
        }
        if (auto limit = ctx.take_option("--limit"))
            filter.limit = static_cast<std::size_t>(std::stoul(*limit));
        if (ctx.format != "table" && ctx.format != "csv" && ctx.format != "json") {
            fmt::print(stderr, "outpostctl suppression: --format must be table, csv or json\n");
            return exit_usage;
        }
        print_entries(store->list(filter), ctx.format);
        return exit_ok;
    }

    if (word == "add") {
        auto reason = ctx.take_option("--reason");
        auto status = ctx.take_option("--status");
        auto message_id = ctx.take_option("--message-id");
        if (ctx.args.size() != 2 || !reason) {
            fmt::print(stderr, "usage: outpostctl suppression add ADDRESS --reason R\n");
            return exit_usage;
        }
        entry e;
        e.address = ctx.args[1];
        e.reason = *reason;
        e.status = status.value_or("");
        e.origin = suppression::source::manual;
        e.first_seen = e.last_seen = now_seconds();
        e.message_id = message_id.value_or("");
        if (!store->add(e)) {
            fmt::print(stderr, "outpostctl suppression: {}\n", store->last_error());
            return exit_failure;
        }
        fmt::print("suppressed {}\n", suppression::normalize_address(e.address));
        return exit_ok;
    }

    if (ctx.args.size() != 2) {
        fmt::print(stderr, "usage: outpostctl suppression {} ADDRESS\n", word);
        return exit_usage;
    }
    const auto& address = ctx.args[1];
    if (word == "remove") {
        if (!store->remove(address)) {
            fmt::print(stderr, "outpostctl suppression: {} is not suppressed\n", address);
            return exit_failure;
        }
        fmt::print("removed {}\n", suppression::normalize_address(address));
        return exit_ok;
    }
    auto found = store->lookup(address);
    if (!found) {
        fmt::print("{} is not suppressed\n", address);
        return exit_failure;
    }
    print_entries({*found}, ctx.format);
    return exit_ok;
}

const registration reg{
    "suppression", "list, add, remove and check suppressed addresses", usage_text, run};

}  // namespace

}  // namespace outpost::ctl
