// outpostctl suppression: list, add, remove, check, export and import the suppression list.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "core/suppression/bounce_state.hpp"
#include "core/suppression/csv.hpp"
#include "core/suppression/sqlite_store.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/cluster_push.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

using suppression::entry;

constexpr const char* usage_text =
    "usage: outpostctl suppression list [--reason R] [--since YYYY-MM-DD] [--limit N]\n"
    "                                   [--domain D] [--kind hard|soft] [--source S]\n"
    "                                   [--format table|csv|json]\n"
    "       outpostctl suppression add ADDRESS --reason R [--status CODE] [--message-id ID]\n"
    "                                   [--kind hard|soft]\n"
    "       outpostctl suppression remove ADDRESS\n"
    "       outpostctl suppression check ADDRESS     (alias: show)\n"
    "       outpostctl suppression export [--format csv|json]\n"
    "       outpostctl suppression import FILE.csv [--source import|manual]\n"
    "  The list lives in SPOOL_DIR/suppression.sqlite ([server] spool_dir of --config);\n"
    "  --db PATH names another file. Works whether or not the daemon runs (SQLite WAL).\n"
    "  check exits 0 and prints the entry when the address is suppressed, 1 when it is not.\n"
    "  Addresses match in any case. Soft entries (soft bounces that reached the limit) expire\n"
    "  after [bounce] soft_suppression_ttl (7d); hard ones stay until removed.\n"
    "  export is list --format csv (the default) or json: a header line\n"
    "  address,reason,status,source,first_seen,last_seen,count,message_id,kind,queue_id, times\n"
    "  in ISO 8601 UTC (message_id: the Message-ID of the mail that caused the last record).\n"
    "  import reads that CSV (any subset of the columns with address; no reason means \"import\")\n"
    "  and adds every row in one transaction. Rows keep their source column, else get --source\n"
    "  (default import); --source given overrides the file. A new address starts at count 1.\n"
    "  It also reads the suppression exports of Amazon SES (EmailAddress,Reason,LastUpdateTime,\n"
    "  or the headerless ADDRESS,BOUNCE|COMPLAINT bulk file), Postmark (EmailAddress,\n"
    "  SuppressionReason,Origin,CreatedAt) and SendGrid (email,created with reason,status for\n"
    "  bounces and blocks, ip for spam reports), mapping their reasons onto ours (bounce,\n"
    "  feedback, unsubscribe, manual; a 4.x.x status or SoftBounce is soft). A file imported\n"
    "  twice changes nothing.\n"
    "  Any bad line is printed as FILE:LINE: message, nothing is added, and the exit is 2.\n";

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
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

std::string json_of(const entry& e) {
    return fmt::format(
        "{{\"address\":{},\"reason\":{},\"status\":{},\"source\":{},\"first_seen\":{},"
        "\"last_seen\":{},\"count\":{},\"message_id\":{},\"queue_id\":{},\"kind\":{}}}",
        json_string(e.address), json_string(e.reason), json_string(e.status),
        json_string(std::string(suppression::to_string(e.origin))),
        json_string(suppression::format_time(e.first_seen)),
        json_string(suppression::format_time(e.last_seen)), e.count, json_string(e.message_id),
        json_string(e.queue_id), json_string(std::string(suppression::to_string(e.severity)))
    );
}

void print_entries(const std::vector<entry>& entries, const std::string& format) {
    if (format == "json") {
        for (const auto& e : entries)
            fmt::print("{}\n", json_of(e));
    } else if (format == "csv") {
        fmt::print("{}\n", suppression::csv_header);
        for (const auto& e : entries)
            fmt::print("{}\n", suppression::csv_row(e));
    } else {
        fmt::print(
            "{:<40} {:<4} {:<16} {:<8} {:<10} {:<20} {:>5}\n", "ADDRESS", "KIND", "REASON",
            "STATUS", "SOURCE", "LAST SEEN", "COUNT"
        );
        for (const auto& e : entries)
            fmt::print(
                "{:<40} {:<4} {:<16} {:<8} {:<10} {:<20} {:>5}\n", e.address,
                suppression::to_string(e.severity), e.reason, e.status,
                suppression::to_string(e.origin), suppression::format_time(e.last_seen), e.count
            );
    }
}

// A change that could not reach Redis stays in this node's list; the daemon publishes it at its
// next synchronisation.
void warn_unpublished(const std::optional<std::string>& error) {
    if (error)
        fmt::print(
            stderr,
            "outpostctl suppression: warning: Redis unreachable ({}): the change is in this "
            "node's list and reaches the cluster when this node's outpostd next synchronises\n",
            *error
        );
}

// outpostctl suppression import FILE.csv [--source import|manual]: all rows or none.
int import_csv(context& ctx, suppression::store& store) {
    auto source_name = ctx.take_option("--source");
    if (ctx.args.size() != 2) {
        fmt::print(
            stderr, "usage: outpostctl suppression import FILE.csv [--source import|manual]\n"
        );
        return exit_usage;
    }
    suppression::csv_import_options options;
    options.now = now_seconds();
    if (source_name) {
        options.origin = suppression::parse_source(*source_name);
        if (options.origin != suppression::source::import &&
            options.origin != suppression::source::manual) {
            fmt::print(stderr, "outpostctl suppression: --source must be import or manual\n");
            return exit_usage;
        }
    }
    const auto& file = ctx.args[1];
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    if (in)
        text << in.rdbuf();
    if (!in || in.bad()) {
        fmt::print(
            stderr, "outpostctl suppression: cannot read {}: {}\n", file, std::strerror(errno)
        );
        return exit_failure;
    }
    auto result = suppression::read_csv_entries(text.str(), options);
    if (!result.problems.empty()) {
        for (const auto& p : result.problems)
            fmt::print(stderr, "{}:{}: {}\n", file, p.line, p.message);
        fmt::print(stderr, "outpostctl suppression: nothing imported from {}\n", file);
        return exit_usage;
    }
    auto before = store.size();
    if (!store.add_all(result.entries)) {
        fmt::print(stderr, "outpostctl suppression: nothing imported: {}\n", store.last_error());
        return exit_failure;
    }
    auto added = store.size() - before;
    if (const auto& cluster = ctx.config().cluster) {
        std::vector<std::string> addresses;
        for (const auto& e : result.entries)
            addresses.push_back(e.address);
        warn_unpublished(publish_entries(*cluster, store, addresses));
    }
    fmt::print(
        "imported {} rows from {}{}: {} new addresses, {} updated\n", result.entries.size(), file,
        result.format.empty() ? "" : fmt::format(" (an export of {})", result.format), added,
        result.entries.size() - added
    );
    return exit_ok;
}

int run(context& ctx) {
    auto db = ctx.take_option("--db");
    if (ctx.args.empty()) {
        fmt::print(stderr, "{}", usage_text);
        return exit_usage;
    }
    auto word = ctx.args[0];
    if (word != "list" && word != "export" && word != "import" && word != "add" &&
        word != "remove" && word != "check" && word != "show") {
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
    // The daemon's view: soft entries past their TTL are gone (--db alone: the default TTL).
    auto ttl = db ? config::bounce_section{}.soft_suppression_ttl
                  : ctx.config().bounce.soft_suppression_ttl;
    store->set_soft_ttl(std::chrono::duration_cast<std::chrono::seconds>(ttl).count());

    if (word == "import")
        return import_csv(ctx, *store);

    if (word == "list" || word == "export") {
        // export is list with CSV as its default format; a table cannot be imported back.
        auto format = ctx.format;
        if (word == "export" && format == "table")
            format = "csv";
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
        if (auto limit = ctx.take_count("--limit"))
            filter.limit = *limit;
        filter.domain = ctx.take_option("--domain");
        if (auto k = ctx.take_option("--kind")) {
            filter.severity = suppression::parse_kind(*k);
            if (!filter.severity) {
                fmt::print(stderr, "outpostctl suppression: --kind wants hard or soft\n");
                return exit_usage;
            }
        }
        if (auto s = ctx.take_option("--source")) {
            filter.origin = suppression::parse_source(*s);
            if (!filter.origin) {
                fmt::print(
                    stderr,
                    "outpostctl suppression: --source wants smtp-reply, dsn, complaint, manual or "
                    "import\n"
                );
                return exit_usage;
            }
        }
        if (ctx.args.size() != 1) {
            fmt::print(stderr, "{}", usage_text);
            return exit_usage;
        }
        if (format != "table" && format != "csv" && format != "json") {
            fmt::print(
                stderr, "outpostctl suppression: --format must be {}csv or json\n",
                word == "list" ? "table, " : ""
            );
            return exit_usage;
        }
        print_entries(store->list(filter), format);
        return exit_ok;
    }

    if (word == "add") {
        auto reason = ctx.take_option("--reason");
        auto status = ctx.take_option("--status");
        auto message_id = ctx.take_option("--message-id");
        auto severity = ctx.take_option("--kind");
        if (severity && !suppression::parse_kind(*severity)) {
            fmt::print(stderr, "outpostctl suppression: --kind wants hard or soft\n");
            return exit_usage;
        }
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
        e.severity =
            suppression::parse_kind(severity.value_or("hard")).value_or(suppression::kind::hard);
        if (!store->add(e)) {
            fmt::print(stderr, "outpostctl suppression: {}\n", store->last_error());
            return exit_failure;
        }
        if (!db && ctx.config().cluster)
            warn_unpublished(publish_entries(*ctx.config().cluster, *store, {e.address}));
        fmt::print("suppressed {}\n", suppression::normalize_address(e.address));
        return exit_ok;
    }

    if (ctx.args.size() != 2) {
        fmt::print(stderr, "usage: outpostctl suppression {} ADDRESS\n", word);
        return exit_usage;
    }
    const auto& address = ctx.args[1];
    if (word == "remove") {
        // In a cluster the shared list goes first: a removal made only here would come back
        // from it at the next synchronisation.
        bool shared = false;
        if (!db && ctx.config().cluster) {
            if (auto unreachable =
                    remove_shared(*ctx.config().cluster, address, now_seconds(), &shared)) {
                fmt::print(
                    stderr,
                    "outpostctl suppression: Redis unreachable ({}): nothing removed, because a "
                    "removal made on this node alone would come back from the shared list\n",
                    *unreachable
                );
                return exit_failure;
            }
        }
        // This node's daemon may have heard of the shared removal and removed it first.
        if (!store->remove(address) && !shared) {
            fmt::print(stderr, "outpostctl suppression: {} is not suppressed\n", address);
            return exit_failure;
        }
        fmt::print("removed {}\n", suppression::normalize_address(address));
        return exit_ok;
    }
    auto found = store->lookup(address);
    if (found) {
        print_entries({*found}, ctx.format);
        // Which mail caused the last record: what an operator looks up in the sending app.
        if (ctx.format == "table" && (!found->message_id.empty() || !found->queue_id.empty()))
            fmt::print(
                "last caused by: {}{}\n",
                found->message_id.empty() ? "(no Message-ID)" : found->message_id,
                found->queue_id.empty() ? "" : fmt::format(" (queue id {})", found->queue_id)
            );
    } else
        fmt::print("{} is not suppressed\n", address);
    // The soft-bounce count on its way to the limit, when the bounce state is at hand.
    if (!db && ctx.format == "table") {
        const auto& cfg = ctx.config();
        auto state_path = std::filesystem::path(cfg.server.spool_dir) / "bounce-state.sqlite";
        std::error_code ec;
        std::string why;
        auto state = std::filesystem::exists(state_path, ec)
                         ? suppression::bounce_state::open(state_path.string(), &why)
                         : nullptr;
        if (!state && !why.empty())
            fmt::print(stderr, "outpostctl suppression: soft-bounce counts unavailable: {}\n", why);
        if (state) {
            auto window =
                std::chrono::duration_cast<std::chrono::seconds>(cfg.bounce.soft_bounce_window);
            if (auto n = state->soft_count(address, now_seconds(), window.count()))
                fmt::print(
                    "soft bounces: {} of {} within {} (a delivery resets the count)\n", n,
                    cfg.bounce.soft_bounce_limit, util::format_duration(window)
                );
        }
    }
    return found ? exit_ok : exit_failure;
}

const registration reg{
    "suppression", "list, add, remove, check, export and import suppressed addresses", usage_text,
    run};

}  // namespace

}  // namespace outpost::ctl
