// outpostctl status and outpostctl queue list|show|flush|delete: through the admin endpoint of the
// running daemon; when it is down, list and show read the spool directly, delete removes the
// spool file, and flush (which only the daemon can do) exits 3.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include "core/admin/http.hpp"
#include "core/admin/views.hpp"
#include "core/spool/layout.hpp"
#include "core/spool/queue_id.hpp"
#include "core/spool/record.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/admin_client.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

namespace json = boost::json;

constexpr const char* queue_usage =
    "usage: outpostctl queue list [--domain D] [--state ready|deferred|active|held]\n"
    "       outpostctl queue show ID\n"
    "       outpostctl queue flush [ID | --domain D]\n"
    "       outpostctl queue hold ID | queue release ID\n"
    "       outpostctl queue delete ID\n"
    "  [--format table|json]\n"
    "\n"
    "Talks to the running outpostd through [admin] address. When it is not running, list and\n"
    "show read the spool directly (held messages show as held, the rest as queued, with the\n"
    "attempts and next attempt the spool recorded), delete removes the spool file, and flush\n"
    "exits 3. A job is one message's pending recipients at one\n"
    "destination. Exit codes: 0 done, 1 failed (no such message, ...), 2 usage, 3 daemon down.\n";

constexpr const char* status_usage =
    "usage: outpostctl status [--format table|json]\n"
    "\n"
    "Version, uptime, listeners and a queue summary from the running outpostd; exits 3 when it\n"
    "is not running.\n";

void say_reading_spool() {
    fmt::print(stderr, "outpostd is not running; reading the spool directly\n");
}

// ---- rendering ------------------------------------------------------------------------------

// Why a job is not delivered yet: shaping holds it back ("waiting: warming cap of ... reached"),
// or it waits for a retry after its last reply.
std::string reason_text(const json::value& o, std::string_view reply_field) {
    const auto& waiting = field(o, "waiting");
    if (waiting.is_string() && !waiting.get_string().empty())
        return "waiting: " + text_of(waiting);
    auto reply = text_of(field(o, reply_field));
    return reply.empty() ? "-" : reply;
}

void print_queue_table(const json::value& doc) {
    auto now = int_of(field(doc, "now"));
    std::vector<std::vector<std::string>> rows{
        {"ID", "DESTINATION", "STATE", "RCPTS", "ATTEMPTS", "AGE", "NEXT", "LAST REPLY"}};
    const auto& jobs = field(doc, "jobs");
    std::set<std::string> messages;
    if (jobs.is_array()) {
        for (const auto& j : jobs.get_array()) {
            messages.insert(text_of(field(j, "id")));
            rows.push_back(
                {text_of(field(j, "id")), text_of(field(j, "destination")),
                 text_of(field(j, "state")), text_of(field(j, "recipients")),
                 text_of(field(j, "attempts")), age(now - int_of(field(j, "arrived"))),
                 next_text(field(j, "next_attempt"), now), reason_text(j, "last_reply")}
            );
        }
    }
    if (rows.size() == 1) {
        fmt::print("the queue is empty\n");
        return;
    }
    print_table(rows);
    auto n = rows.size() - 1;
    fmt::print(
        "{} job{} ({} message{})\n", n, n == 1 ? "" : "s", messages.size(),
        messages.size() == 1 ? "" : "s"
    );
}

void print_message_table(const json::value& doc, std::int64_t now) {
    const auto& env = field(doc, "envelope");
    auto from = text_of(field(env, "from"));
    std::vector<std::vector<std::string>> head{
        {"id", text_of(field(doc, "id"))},
        {"arrived", fmt::format(
                        "{} ({} ago)", util::iso8601(int_of(field(doc, "arrived"))),
                        age(now - int_of(field(doc, "arrived")))
                    )},
        {"from", from.empty() ? "<> (null sender)" : from},
        {"size", text_of(field(doc, "size"))},
        {"client",
         fmt::format(
             "{} helo {} {}{}", text_of(field(env, "client_address")), text_of(field(env, "helo")),
             text_of(field(env, "protocol")),
             text_of(field(env, "auth_user")).empty() ? ""
                                                      : " user " + text_of(field(env, "auth_user"))
         )},
    };
    if (!text_of(field(env, "envid")).empty())
        head.push_back({"envid", text_of(field(env, "envid"))});
    print_table(head);
    fmt::print("\n");
    std::vector<std::vector<std::string>> rows{{"RECIPIENT", "STATE", "ATTEMPTS", "NEXT", "REPLY"}};
    const auto& rcpts = field(doc, "recipients");
    if (rcpts.is_array()) {
        for (const auto& r : rcpts.get_array()) {
            auto state = text_of(field(r, "state"));
            bool final = state == "delivered" || state == "bounced";
            rows.push_back(
                {text_of(field(r, "address")), state, final ? "-" : text_of(field(r, "attempts")),
                 final ? util::iso8601(int_of(field(r, "at")))
                       : next_text(field(r, "next_attempt"), now),
                 reason_text(r, "reply")}
            );
        }
    }
    print_table(rows);
}

// ---- spool fallback --------------------------------------------------------------------------

// Without the daemon a message is held (its marker is there) or simply queued.
admin::job_state spool_state(const spool::layout& where, const std::string& id) {
    std::error_code ec;
    return std::filesystem::exists(where.hold_marker(id), ec) ? admin::job_state::held
                                                              : admin::job_state::queued;
}

json::object spool_listing(const config::config& cfg, const admin::queue_filter& filter) {
    spool::layout where{cfg.server.spool_dir};
    std::vector<admin::queue_entry> entries;
    for (const auto& id : spool::list_queue(where)) {
        auto text = spool::read_file(where.message(id));
        std::string error;
        auto rec = text ? spool::parse(*text, &error) : std::nullopt;
        if (!rec) {
            if (text)
                fmt::print(stderr, "outpostctl: {} is damaged: {}\n", id, error);
            continue;  // a file delivered meanwhile is simply gone
        }
        for (auto& e : admin::entries_of(*rec, spool_state(where, id)))
            if (admin::matches(e, filter))
                entries.push_back(std::move(e));
    }
    return admin::queue_json(std::move(entries), unix_now(), "spool");
}

// ---- commands --------------------------------------------------------------------------------

int queue_list(context& ctx) {
    auto domain = ctx.take_option("--domain");
    auto state = ctx.take_option("--state");
    if (!ctx.args.empty() || bad_format(ctx)) {
        fmt::print(stderr, "{}", queue_usage);
        return exit_usage;
    }
    admin::queue_filter filter;
    filter.domain = domain;
    if (state) {
        filter.state = admin::parse_job_state(*state);
        if (!filter.state || *filter.state == admin::job_state::queued) {
            fmt::print(stderr, "outpostctl: --state must be ready, deferred, active or held\n");
            return exit_usage;
        }
    }
    const auto& cfg = ctx.config();
    std::string target = "/api/v1/queue";
    std::string sep = "?";
    if (domain) {
        target += sep + "domain=" + admin::url_encode(*domain);
        sep = "&";
    }
    if (state)
        target += sep + "state=" + admin::url_encode(*state);
    auto r = call_admin(cfg, "GET", target);
    json::value doc;
    if (r.outcome == reach::down) {
        say_reading_spool();
        if (filter.state && *filter.state != admin::job_state::held) {
            fmt::print(
                stderr, "outpostctl: without the daemon, only held is known; --state is ignored\n"
            );
            filter.state.reset();
        }
        doc = spool_listing(cfg, filter);
    } else if (r.outcome == reach::failed) {
        return failed_call(r);
    } else if (r.reply.status != 200) {
        fmt::print(stderr, "outpostctl: {}\n", api_error(r.reply));
        return exit_failure;
    } else {
        doc = std::move(r.reply.body);
    }
    if (ctx.format == "json")
        print_json(doc);
    else
        print_queue_table(doc);
    return exit_ok;
}

// The one ID argument of show, hold, release and delete; nullopt (after saying why) otherwise.
std::optional<std::string> id_argument(context& ctx) {
    if (ctx.args.size() != 1 || bad_format(ctx)) {
        fmt::print(stderr, "{}", queue_usage);
        return std::nullopt;
    }
    if (!spool::valid_queue_id(ctx.args[0])) {
        fmt::print(stderr, "outpostctl: \"{}\" is not a queue id\n", ctx.args[0]);
        return std::nullopt;
    }
    return ctx.args[0];
}

int queue_show(context& ctx) {
    auto argument = id_argument(ctx);
    if (!argument)
        return exit_usage;
    const auto& id = *argument;
    const auto& cfg = ctx.config();
    auto r = call_admin(cfg, "GET", "/api/v1/queue/" + id);
    json::value doc;
    if (r.outcome == reach::down) {
        say_reading_spool();
        spool::layout where{cfg.server.spool_dir};
        auto text = spool::read_file(where.message(id));
        if (!text) {
            fmt::print(stderr, "outpostctl: no message {} in {}\n", id, where.queue().string());
            return exit_failure;
        }
        std::string error;
        auto rec = spool::parse(*text, &error);
        if (!rec) {
            fmt::print(stderr, "outpostctl: {} is damaged: {}\n", id, error);
            return exit_failure;
        }
        auto state = spool_state(where, id);
        doc = admin::message_json(*rec, admin::entries_of(*rec, state), state, "spool");
    } else if (r.outcome == reach::failed) {
        return failed_call(r);
    } else if (r.reply.status != 200) {
        fmt::print(stderr, "outpostctl: {}\n", api_error(r.reply));
        return exit_failure;
    } else {
        doc = std::move(r.reply.body);
    }
    if (ctx.format == "json")
        print_json(doc);
    else
        print_message_table(doc, unix_now());
    return exit_ok;
}

int queue_flush(context& ctx) {
    auto domain = ctx.take_option("--domain");
    if (ctx.args.size() > 1 || (domain && !ctx.args.empty()) || bad_format(ctx)) {
        fmt::print(stderr, "{}", queue_usage);
        return exit_usage;
    }
    std::string target = "/api/v1/queue/flush";
    if (!ctx.args.empty()) {
        if (!spool::valid_queue_id(ctx.args[0])) {
            fmt::print(stderr, "outpostctl: \"{}\" is not a queue id\n", ctx.args[0]);
            return exit_usage;
        }
        target += "?id=" + ctx.args[0];
    } else if (domain) {
        target += "?domain=" + admin::url_encode(*domain);
    }
    auto r = daemon_call(
        ctx.config(), "POST", target,
        "; queue flush needs the daemon, and every queued message is retried when it starts"
    );
    if (auto* code = std::get_if<int>(&r))
        return *code;
    const auto& doc = std::get<api_reply>(r).body;
    if (ctx.format == "json") {
        print_json(doc);
    } else {
        auto n = int_of(field(doc, "flushed"));
        fmt::print("{} deferred job{} made ready now\n", n, n == 1 ? "" : "s");
    }
    return exit_ok;
}

// hold / release: only the daemon schedules, so with it down they edit the marker file that it
// reads at start.
int queue_hold_release(context& ctx, bool hold) {
    auto argument = id_argument(ctx);
    if (!argument)
        return exit_usage;
    const auto& id = *argument;
    const auto& cfg = ctx.config();
    auto r = call_admin(
        cfg, "POST", fmt::format("/api/v1/queue/{}?id={}", hold ? "hold" : "release", id)
    );
    if (r.outcome == reach::down) {
        spool::layout where{cfg.server.spool_dir};
        std::error_code ec;
        if (!std::filesystem::exists(where.message(id), ec)) {
            fmt::print(stderr, "outpostctl: no message {}\n", id);
            return exit_failure;
        }
        fmt::print(
            stderr, "outpostd is not running; {} the hold marker directly\n",
            hold ? "writing" : "removing"
        );
        if (hold)
            std::ofstream(where.hold_marker(id)).flush();
        else
            std::filesystem::remove(where.hold_marker(id), ec);
    } else if (r.outcome == reach::failed) {
        return failed_call(r);
    } else if (r.reply.status != 200) {
        fmt::print(stderr, "outpostctl: {}\n", api_error(r.reply));
        return exit_failure;
    }
    if (ctx.format == "json")
        fmt::print("{{\"{}\":\"{}\"}}\n", hold ? "held" : "released", id);
    else
        fmt::print("{} {}\n", hold ? "held" : "released", id);
    return exit_ok;
}

int queue_delete(context& ctx) {
    auto argument = id_argument(ctx);
    if (!argument)
        return exit_usage;
    const auto& id = *argument;
    const auto& cfg = ctx.config();
    auto r = call_admin(cfg, "DELETE", "/api/v1/queue/" + id);
    json::object done;
    done["deleted"] = id;
    if (r.outcome == reach::down) {
        fmt::print(stderr, "outpostd is not running; removing the spool file directly\n");
        spool::layout where{cfg.server.spool_dir};
        std::error_code ec;
        if (!std::filesystem::remove(where.message(id), ec)) {
            fmt::print(
                stderr, "outpostctl: no message {} in {}{}\n", id, where.queue().string(),
                ec ? ": " + ec.message() : ""
            );
            return exit_failure;
        }
        done["source"] = "spool";
    } else if (r.outcome == reach::failed) {
        return failed_call(r);
    } else if (r.reply.status != 200) {
        fmt::print(stderr, "outpostctl: {}\n", api_error(r.reply));
        return exit_failure;
    } else {
        done["source"] = "daemon";
    }
    if (ctx.format == "json")
        print_json(done);
    else
        fmt::print("deleted {}\n", id);
    return exit_ok;
}

int queue(context& ctx) {
    if (ctx.args.empty()) {
        fmt::print(stderr, "{}", queue_usage);
        return exit_usage;
    }
    auto verb = ctx.args[0];
    ctx.args.erase(ctx.args.begin());
    if (verb == "list")
        return queue_list(ctx);
    if (verb == "show")
        return queue_show(ctx);
    if (verb == "flush")
        return queue_flush(ctx);
    if (verb == "delete")
        return queue_delete(ctx);
    if (verb == "hold" || verb == "release")
        return queue_hold_release(ctx, verb == "hold");
    fmt::print(stderr, "outpostctl: unknown queue command \"{}\"\n{}", verb, queue_usage);
    return exit_usage;
}

int status(context& ctx) {
    if (!ctx.args.empty() || bad_format(ctx)) {
        fmt::print(stderr, "{}", status_usage);
        return exit_usage;
    }
    auto r = daemon_call(ctx.config(), "GET", "/api/v1/status");
    if (auto* code = std::get_if<int>(&r))
        return *code;
    const auto& doc = std::get<api_reply>(r).body;
    if (ctx.format == "json") {
        print_json(doc);
        return exit_ok;
    }
    std::string listeners;
    if (const auto& l = field(doc, "listeners"); l.is_array())
        for (const auto& a : l.get_array())
            listeners += (listeners.empty() ? "" : ", ") + text_of(a);
    const auto& q = field(doc, "queue");
    const auto& c = field(doc, "counters");
    print_table({
        {"version", text_of(field(doc, "version"))},
        {"hostname", text_of(field(doc, "hostname"))},
        {"uptime", age(int_of(field(doc, "uptime_seconds")))},
        {"listeners", listeners.empty() ? "-" : listeners},
        {"admin", text_of(field(doc, "admin"))},
        {"spool", text_of(field(doc, "spool_dir"))},
        {"connections", text_of(field(doc, "connections"))},
        {"queue",
         fmt::format(
             "{} ready, {} deferred, {} active batches, {} held, {} destinations, oldest {}",
             text_of(field(q, "ready")), text_of(field(q, "deferred")), text_of(field(q, "active")),
             text_of(field(q, "held")), text_of(field(q, "destinations")),
             age(int_of(field(q, "oldest_seconds")))
         )},
        {"since start", fmt::format(
                            "{} received, {} delivered, {} deferred, {} bounced (recipients)",
                            text_of(field(c, "received")), text_of(field(c, "delivered")),
                            text_of(field(c, "deferred")), text_of(field(c, "bounced"))
                        )},
    });
    return exit_ok;
}

registration queue_reg{
    "queue", "list, show, flush or delete queued messages (through the daemon, or the spool)",
    queue_usage, queue};

registration status_reg{
    "status", "version, uptime, listeners and queue of outpostd", status_usage, status};

}  // namespace

}  // namespace outpost::ctl
