// outpostctl status and outpostctl queue list|show|flush|delete: through the admin endpoint of the
// running daemon; when it is down, list and show read the spool directly, delete removes the
// spool file, and flush (which only the daemon can do) exits 3.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <variant>

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
#include "server/outpostctl/queue_select.hpp"

namespace outpost::ctl {

namespace {

namespace json = boost::json;

constexpr const char* queue_usage =
    "usage: outpostctl queue list [--domain D] [--state ready|deferred|active|held]\n"
    "                             [--limit N] [--after ID]\n"
    "       outpostctl queue summary            messages by destination and age (as qshape)\n"
    "       outpostctl queue show ID [--headers]\n"
    "       outpostctl queue flush [ID... | - | --domain D | --sender S | --all]\n"
    "       outpostctl queue hold|release|delete ID... | - | --domain D | --sender S | --all\n"
    "                                             [--yes]\n"
    "  [--format table|json]\n"
    "\n"
    "Talks to the running outpostd through [admin] address. When it is not running, list and\n"
    "show read the spool directly (held messages show as held, the rest as queued, with the\n"
    "attempts and next attempt the spool recorded), delete removes the spool file, and flush\n"
    "exits 3. A job is one message's pending recipients at one destination. IDs may be given\n"
    "several at a time, or \"-\" reads them from standard input, one per line. --domain,\n"
    "--sender (the envelope sender, <> for the null sender) and --all choose from the queue;\n"
    "hold, release and delete then ask for confirmation, or take --yes. flush with no\n"
    "argument retries every deferred job. list --limit N shows N jobs, --after ID the jobs\n"
    "after that message's. show --headers adds the queued message's header.\n"
    "Exit codes: 0 done, 1 failed (no such message, ...), 2 usage, 3 daemon down.\n";

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

// The queue listing from the daemon, or from the spool when it is down; an exit code after
// saying why it could not be had.
std::variant<json::value, int> fetch_listing(context& ctx, admin::queue_filter filter) {
    const auto& cfg = ctx.config();
    std::string target = "/api/v1/queue";
    std::string sep = "?";
    if (filter.domain) {
        target += sep + "domain=" + admin::url_encode(*filter.domain);
        sep = "&";
    }
    if (filter.state)
        target += sep + "state=" + admin::url_encode(std::string(admin::to_string(*filter.state)));
    auto r = call_admin(cfg, "GET", target);
    if (r.outcome == reach::down) {
        say_reading_spool();
        if (filter.state && *filter.state != admin::job_state::held) {
            fmt::print(
                stderr, "outpostctl: without the daemon, only held is known; --state is ignored\n"
            );
            filter.state.reset();
        }
        return json::value(spool_listing(cfg, filter));
    }
    if (r.outcome == reach::failed)
        return failed_call(r);
    if (r.reply.status != 200) {
        fmt::print(stderr, "outpostctl: {}\n", api_error(r.reply));
        return exit_failure;
    }
    return std::move(r.reply.body);
}

// --after ID and --limit N over the listing's jobs (in arrival order).
void page(
    json::value& doc, const std::optional<std::string>& after, std::optional<std::size_t> limit
) {
    if (!doc.is_object() || !field(doc, "jobs").is_array())
        return;
    json::array kept;
    for (const auto& j : field(doc, "jobs").get_array()) {
        if (after && !(text_of(field(j, "id")) > *after))  // ids sort by arrival
            continue;
        if (limit && kept.size() >= *limit)
            break;
        kept.push_back(j);
    }
    auto n = kept.size();
    auto& o = doc.as_object();
    o["jobs"] = std::move(kept);
    o["count"] = n;
}

int queue_list(context& ctx) {
    auto domain = ctx.take_option("--domain");
    auto state = ctx.take_option("--state");
    auto after = ctx.take_option("--after");
    auto limit = ctx.take_count("--limit");
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
    if (after && !spool::valid_queue_id(*after)) {
        fmt::print(stderr, "outpostctl: --after wants a queue id, not \"{}\"\n", *after);
        return exit_usage;
    }
    auto listing = fetch_listing(ctx, filter);
    if (auto* code = std::get_if<int>(&listing))
        return *code;
    auto doc = std::move(std::get<json::value>(listing));
    page(doc, after, limit);
    if (ctx.format == "json")
        print_json(doc);
    else
        print_queue_table(doc);
    return exit_ok;
}

int queue_summary(context& ctx) {
    if (!ctx.args.empty() || bad_format(ctx)) {
        fmt::print(stderr, "{}", queue_usage);
        return exit_usage;
    }
    auto listing = fetch_listing(ctx, {});
    if (auto* code = std::get_if<int>(&listing))
        return *code;
    auto rows = summary_rows(std::get<json::value>(listing));
    if (ctx.format == "json") {
        json::array out;
        for (std::size_t i = 1; i < rows.size(); ++i) {
            json::object o;
            for (std::size_t k = 0; k < rows[0].size(); ++k)
                o[rows[0][k]] =
                    k == 0 ? json::value(rows[i][k]) : json::value(std::stoull(rows[i][k]));
            out.push_back(std::move(o));
        }
        print_json(json::value(std::move(out)));
    } else if (rows.size() == 1) {
        fmt::print("the queue is empty\n");
    } else {
        print_table(rows);
    }
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
    bool headers = ctx.take_flag("--headers");
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
    std::string header;
    if (headers) {
        // Read from the spool file itself (this host's): the message as it will be sent.
        auto text = spool::read_file(spool::layout{cfg.server.spool_dir}.message(id));
        auto rec = text ? spool::parse(*text) : std::nullopt;
        if (rec) {
            std::string_view message(text->data() + rec->message_offset, rec->size);
            auto end = message.find("\r\n\r\n");
            header = std::string(
                message.substr(0, end == std::string_view::npos ? message.size() : end + 2)
            );
        }
    }
    if (ctx.format == "json") {
        if (headers && doc.is_object())
            doc.as_object()["headers"] = header;
        print_json(doc);
    } else {
        print_message_table(doc, unix_now());
        if (headers) {
            fmt::print("\n");
            std::string shown;
            for (char c : header)
                if (c != '\r')
                    shown += c;
            fmt::print("{}", shown);
        }
    }
    return exit_ok;
}

// flush of everything, or of a domain: one call, the daemon picks the jobs.
int flush_all(context& ctx, const std::optional<std::string>& domain) {
    std::string target = "/api/v1/queue/flush";
    if (domain)
        target += "?domain=" + admin::url_encode(*domain);
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

int flush_one(context& ctx, const std::string& id) {
    auto r = daemon_call(
        ctx.config(), "POST", "/api/v1/queue/flush?id=" + id,
        "; queue flush needs the daemon, and every queued message is retried when it starts"
    );
    if (auto* code = std::get_if<int>(&r))
        return *code;
    auto n = int_of(field(std::get<api_reply>(r).body, "flushed"));
    if (ctx.format == "json")
        fmt::print("{{\"flushed\":\"{}\",\"jobs\":{}}}\n", id, n);
    else
        fmt::print("{} deferred job{} made ready now ({})\n", n, n == 1 ? "" : "s", id);
    return exit_ok;
}

// hold / release: only the daemon schedules, so with it down they edit the marker file that it
// reads at start.
int hold_release_one(context& ctx, bool hold, const std::string& id) {
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

int delete_one(context& ctx, const std::string& id) {
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
        std::filesystem::remove(where.hold_marker(id), ec);
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

// flush, hold, release and delete over the messages the arguments choose (see select_messages).
int queue_act(context& ctx, const std::string& verb) {
    bool yes = ctx.take_flag("--yes");
    if (bad_format(ctx)) {
        fmt::print(stderr, "{}", queue_usage);
        return exit_usage;
    }
    // flush with nothing, or with --domain alone: the daemon flushes in one call.
    bool plain_domain =
        std::count(ctx.args.begin(), ctx.args.end(), "--domain") == 1 && ctx.args.size() == 2;
    if (verb == "flush" && (ctx.args.empty() || plain_domain))
        return flush_all(ctx, ctx.take_option("--domain"));
    if (ctx.args.empty()) {
        fmt::print(stderr, "{}", queue_usage);
        return exit_usage;
    }
    bool needs_listing = false;
    for (const auto& a : ctx.args)
        needs_listing |= a == "--all" || a == "--domain" || a == "--sender" ||
                         a.starts_with("--domain=") || a.starts_with("--sender=");
    json::value listing;
    if (needs_listing) {
        auto fetched = fetch_listing(ctx, {});
        if (auto* code = std::get_if<int>(&fetched))
            return *code;
        listing = std::move(std::get<json::value>(fetched));
    }
    auto chosen = select_messages(ctx, listing, ctx.config().server.spool_dir);
    if (!chosen)
        return exit_usage;
    if (!ctx.args.empty() && chosen->ids.empty()) {
        fmt::print(stderr, "{}", queue_usage);
        return exit_usage;
    }
    if (chosen->bulk && (verb == "hold" || verb == "release")) {
        // A bulk release takes the held messages it matches, a bulk hold the others.
        std::set<std::string> held;
        if (const auto& jobs = field(listing, "jobs"); jobs.is_array())
            for (const auto& j : jobs.get_array())
                if (text_of(field(j, "state")) == "held")
                    held.insert(text_of(field(j, "id")));
        std::erase_if(chosen->ids, [&](const std::string& id) {
            return held.count(id) != 0 ? verb == "hold" : verb == "release";
        });
    }
    if (chosen->bulk && verb != "flush" && !chosen->ids.empty()) {
        if (!confirmed(yes, verb, chosen->ids.size())) {
            fmt::print(stderr, "outpostctl: nothing done\n");
            return exit_usage;
        }
    }
    int worst = exit_ok;
    for (const auto& id : chosen->ids) {
        int rc = verb == "flush"    ? flush_one(ctx, id)
                 : verb == "delete" ? delete_one(ctx, id)
                                    : hold_release_one(ctx, verb == "hold", id);
        if (rc == exit_daemon_down || rc == exit_usage)
            return rc;
        worst = std::max(worst, rc);
    }
    if (chosen->bulk && ctx.format != "json")
        fmt::print("{} message{}\n", chosen->ids.size(), chosen->ids.size() == 1 ? "" : "s");
    return worst;
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
    if (verb == "summary")
        return queue_summary(ctx);
    if (verb == "show")
        return queue_show(ctx);
    if (verb == "flush" || verb == "delete" || verb == "hold" || verb == "release")
        return queue_act(ctx, verb);
    fmt::print(stderr, "outpostctl: unknown queue command \"{}\"\n{}", verb, queue_usage);
    return exit_usage;
}

std::string reload_text(const json::value& r) {
    auto at = int_of(field(r, "at"));
    if (at == 0)
        return "none since start";
    bool ok = field(r, "ok").is_bool() && field(r, "ok").get_bool();
    return ok ? fmt::format("applied at {}", util::iso8601(at))
              : fmt::format("REFUSED at {}: {}", util::iso8601(at), text_of(field(r, "error")));
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
    std::vector<std::vector<std::string>> rows{
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
        {"last reload", reload_text(field(doc, "last_reload"))},
    };
    if (const auto& k = field(doc, "cluster"); k.is_object()) {
        auto latency = field(k, "redis_latency_seconds");
        rows.push_back(
            {"cluster",
             fmt::format(
                 "node {} on {}, Redis {} ({:.2f} ms), {} nodes, {}", text_of(field(k, "node")),
                 text_of(field(k, "redis")), field(k, "redis_up") == true ? "up" : "DOWN",
                 (latency.is_number() ? latency.to_number<double>() : 0.0) * 1000.0,
                 text_of(field(k, "nodes")),
                 field(k, "degraded") == true
                     ? "DEGRADED (suppression from the last synchronised list)"
                     : "synchronised"
             )}
        );
    }
    if (const auto& ev = field(doc, "events"); ev.is_object()) {
        rows.push_back(
            {"events", fmt::format(
                           "{} written since start, {} write failures",
                           text_of(field(ev, "appended")), text_of(field(ev, "write_failures"))
                       )}
        );
        if (const auto& hooks = field(ev, "webhooks"); hooks.is_array())
            for (const auto& h : hooks.as_array()) {
                auto lag = field(h, "lag_seconds");
                auto error = text_of(field(h, "last_error"));
                rows.push_back(
                    {"webhook " + text_of(field(h, "name")),
                     fmt::format(
                         "{} sent, {} failed requests, lag {:.1f} s{}", text_of(field(h, "sent")),
                         text_of(field(h, "failures")),
                         lag.is_number() ? lag.to_number<double>() : 0.0,
                         error.empty() ? "" : ", failing: " + error
                     )}
                );
            }
    }
    print_table(rows);
    return exit_ok;
}

registration queue_reg{
    "queue", "list, show, flush or delete queued messages (through the daemon, or the spool)",
    queue_usage, queue};

registration status_reg{
    "status", "version, uptime, listeners and queue of outpostd", status_usage, status};

}  // namespace

}  // namespace outpost::ctl
