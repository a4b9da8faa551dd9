// outpostctl throttle status: the running daemon's throttle keys (per destination domain or
// provider), their configured limits, the rate after adaptive backoff, active suspensions and
// connections in use.
#include <fmt/format.h>

#include "core/admin/http.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

namespace json = boost::json;

constexpr const char* usage =
    "usage: outpostctl throttle status [--format table|json]\n"
    "       outpostctl throttle suspend KEY [--for DURATION]   (default 1h, at most 30d)\n"
    "       outpostctl throttle resume KEY\n"
    "\n"
    "suspend holds mail for KEY as a receiver's \"slow down\" would; resume lifts a suspension\n"
    "and the rate cut of earlier slow-downs, and what waited is tried at once. Both are kept\n"
    "across restarts.\n"
    "Per throttle key (domain:D for a domain, provider:P for every domain a [[provider]] hosts,\n"
    "default for [[throttle]] domain = \"*\"; KEY@IP for one [[source_ip]]'s own backoff there,\n"
    "after a slow-down that IP heard): the configured rate and limits, the share of the\n"
    "rate allowed after \"slow down\" replies, the suspension in force and when it ends, and the\n"
    "connections open now. Needs the running outpostd (exit 3 when it is down).\n";

int suspend_resume(context& ctx, bool suspend) {
    auto length = ctx.take_option("--for");
    if (ctx.args.size() != 1 || bad_format(ctx) || (length && !suspend)) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    std::int64_t seconds = 3600;
    if (length) {
        auto d = util::parse_duration(*length);
        if (!d || *d < std::chrono::seconds(1) || *d > std::chrono::hours(24 * 30)) {
            fmt::print(
                stderr,
                "outpostctl: --for wants a duration from 1s to 30d, such as 2h, not \"{}\"\n",
                *length
            );
            return exit_usage;
        }
        seconds = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
    }
    auto target = fmt::format(
        "/api/v1/throttles/{}?key={}", suspend ? "suspend" : "resume",
        admin::url_encode(ctx.args[0])
    );
    if (suspend)
        target += fmt::format("&seconds={}", seconds);
    auto r = daemon_call(ctx.config(), "POST", target);
    if (auto* code = std::get_if<int>(&r))
        return *code;
    if (ctx.format == "json")
        print_json(std::get<api_reply>(r).body);
    else if (suspend)
        fmt::print("suspended {} for {}\n", ctx.args[0], age(seconds));
    else
        fmt::print("resumed {}\n", ctx.args[0]);
    return exit_ok;
}

int status(context& ctx) {
    if (!ctx.args.empty() || bad_format(ctx)) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    auto r = daemon_call(ctx.config(), "GET", "/api/v1/throttles");
    if (auto* code = std::get_if<int>(&r))
        return *code;
    const auto& doc = std::get<api_reply>(r).body;
    if (ctx.format == "json") {
        print_json(doc);
        return exit_ok;
    }
    auto now = int_of(field(doc, "now"));
    std::vector<std::vector<std::string>> rows{
        {"KEY", "RATE", "NOW", "CONNECTIONS", "MSGS/CONN", "BACKOFF"}};
    const auto& keys = field(doc, "keys");
    if (keys.is_array())
        for (const auto& k : keys.get_array()) {
            auto max = int_of(field(k, "max_connections"));
            auto per = int_of(field(k, "max_messages_per_connection"));
            std::string backoff = "-";
            if (field(k, "suspended").is_bool() && field(k, "suspended").get_bool())
                backoff = fmt::format(
                    "suspended until {} (in {}) after \"{}\", {} in a row",
                    util::iso8601(int_of(field(k, "suspended_until"))),
                    age(int_of(field(k, "suspended_until")) - now),
                    text_of(field(k, "last_slowdown")), int_of(field(k, "repeats")) + 1
                );
            rows.push_back(
                {text_of(field(k, "key")), text_of(field(k, "rate")),
                 fmt::format("{:.0f}%", field(k, "fraction").to_number<double>() * 100),
                 fmt::format(
                     "{}/{}", int_of(field(k, "connections")), max ? fmt::format("{}", max) : "-"
                 ),
                 per ? fmt::format("{}", per) : "-", backoff}
            );
        }
    if (rows.size() == 1) {
        fmt::print("no throttle keys: nothing configured or sent yet\n");
        return exit_ok;
    }
    print_table(rows);
    return exit_ok;
}

int run(context& ctx) {
    auto verb = ctx.args.empty() ? std::string() : ctx.args.front();
    if (verb != "status" && verb != "suspend" && verb != "resume") {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    ctx.args.erase(ctx.args.begin());
    if (verb == "status")
        return status(ctx);
    return suspend_resume(ctx, verb == "suspend");
}

const registration throttle_registration{
    "throttle", "throttle status|suspend|resume: rates, backoffs and connections per destination",
    usage, run};

}  // namespace

}  // namespace outpost::ctl
