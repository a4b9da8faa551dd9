#include "server/outpostd/admin.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include "core/admin/exposition.hpp"
#include "core/admin/http.hpp"
#include "core/admin/views.hpp"
#include "core/spool/queue_id.hpp"
#include "core/spool/record.hpp"
#include "core/util/log.hpp"
#include "core/util/metrics.hpp"
#include "core/util/offload.hpp"
#include "core/util/text.hpp"
#include "server/outpostd/cluster_setup.hpp"
#include "server/outpostd/dmarc_setup.hpp"
#include "server/outpostd/events_setup.hpp"

namespace outpost::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using token = asio::as_tuple_t<asio::use_awaitable_t<>>;

namespace {

constexpr std::size_t max_sessions = 16;
constexpr std::chrono::seconds io_timeout{30};
constexpr std::size_t max_request_body = 16 * 1024;

template <class Request>
http::response<http::string_body> reply(
    const Request& req, http::status status, std::string body, std::string_view type
) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::server, "outpostd");
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.body() = std::move(body);
    return res;
}

template <class Request>
http::response<http::string_body> json_reply(
    const Request& req, http::status status, const json::value& v
) {
    return reply(req, status, json::serialize(v) + "\n", "application/json");
}

template <class Request>
http::response<http::string_body> error_reply(
    const Request& req, http::status status, std::string_view message
) {
    json::object o;
    o["error"] = message;
    return json_reply(req, status, o);
}

// A socket file left by a daemon that died: nobody accepts on it, so it may be replaced.
void remove_stale_socket(const std::string& path) {
    struct stat st {};

    if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
        return;
    asio::io_context probe_io;
    local::socket probe(probe_io);
    boost::system::error_code ec;
    probe.connect(local::endpoint(path), ec);
    if (!ec)
        throw std::system_error(
            std::make_error_code(std::errc::address_in_use),
            fmt::format("admin socket {} is in use by a running process", path)
        );
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
}

}  // namespace

admin_server::admin_server(asio::io_context& io, admin_sources sources)
    : io_(io),
      sources_(std::move(sources)),
      started_(std::chrono::steady_clock::now()),
      started_unix_(now()) {}

admin_server::~admin_server() {
    stop();
}

std::int64_t admin_server::now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

void admin_server::start() {
    try {
        bind();
    } catch (const std::system_error& e) {
        if (sources_.cfg.admin.address_configured)
            throw;
        stop();
        log::warn(
            "admin_unavailable", {{"address", sources_.cfg.admin.address}, {"error", e.what()}}
        );
    }
}

void admin_server::bind() {
    const auto& text = sources_.cfg.admin.address;
    auto address = admin::parse_endpoint_address(text);
    if (!address)
        throw std::system_error(
            std::make_error_code(std::errc::invalid_argument), fmt::format("admin address {}", text)
        );
    auto log_exception = [](std::exception_ptr e) {
        if (!e)
            return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error("admin_accept_failed", {{"error", ex.what()}});
        }
    };
    if (!address->unix_path.empty()) {
        remove_stale_socket(address->unix_path);
        unix_.emplace(io_);
        boost::system::error_code ec;
        unix_->open(local(), ec);
        if (!ec)
            unix_->bind(local::endpoint(address->unix_path), ec);
        if (!ec && ::chmod(address->unix_path.c_str(), 0660) != 0)
            ec.assign(errno, boost::system::system_category());
        if (!ec)
            unix_->listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::system_error(ec, fmt::format("admin socket {}", address->unix_path));
        unix_path_ = address->unix_path;
        asio::co_spawn(io_, accept_loop(*unix_), log_exception);
    } else {
        boost::system::error_code ec;
        auto ip = asio::ip::make_address(address->host, ec);
        if (ec)
            throw std::system_error(ec, fmt::format("admin address {}", text));
        tcp::endpoint ep(ip, address->port);
        tcp_.emplace(io_);
        tcp_->open(ep.protocol(), ec);
        if (!ec)
            tcp_->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec)
            tcp_->bind(ep, ec);
        if (!ec)
            tcp_->listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::system_error(ec, fmt::format("admin address {}", text));
        asio::co_spawn(io_, accept_loop(*tcp_), log_exception);
    }
    log::info(
        "admin_listening",
        {{"address", text}, {"token", sources_.cfg.admin.token.empty() ? "none" : "required"}}
    );
}

void admin_server::stop() {
    boost::system::error_code ignored;
    if (tcp_ && tcp_->is_open())
        tcp_->close(ignored);
    if (unix_ && unix_->is_open()) {
        unix_->close(ignored);
        std::error_code removed;
        std::filesystem::remove(unix_path_, removed);
    }
}

template <class Acceptor>
asio::awaitable<void> admin_server::accept_loop(Acceptor& acceptor) {
    using protocol = typename Acceptor::protocol_type;
    while (acceptor.is_open()) {
        auto [ec, socket] = co_await acceptor.async_accept(token{});
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open())
                co_return;
            log::warn("admin_accept", {{"error", ec.message()}});
            // EMFILE and friends: back off a little instead of spinning.
            asio::steady_timer pause(io_, std::chrono::milliseconds(100));
            co_await pause.async_wait(token{});
            continue;
        }
        if (sessions_ >= max_sessions)
            continue;  // the socket closes as it goes out of scope
        ++sessions_;
        asio::co_spawn(io_, serve<protocol>(std::move(socket)), [this](std::exception_ptr e) {
            --sessions_;
            if (!e)
                return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log::error("admin_session_failed", {{"error", ex.what()}});
            }
        });
    }
}

template <class Protocol>
asio::awaitable<void> admin_server::serve(typename Protocol::socket socket) {
    beast::basic_stream<Protocol> stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(8 * 1024);
        parser.body_limit(max_request_body);
        stream.expires_after(io_timeout);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, token{});
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::connection_reset || ec == asio::error::eof)
            break;
        if (ec) {
            // Not HTTP, or over the limits: say so once and close.
            http::request<http::string_body> dummy;
            auto res = error_reply(dummy, http::status::bad_request, ec.message());
            res.keep_alive(false);
            res.prepare_payload();
            stream.expires_after(io_timeout);
            co_await http::async_write(stream, res, token{});
            break;
        }
        auto req = parser.release();
        auto res = co_await respond(req);
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        stream.expires_after(io_timeout);
        auto [wec, wn] = co_await http::async_write(stream, res, token{});
        if (wec || !res.keep_alive())
            break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(Protocol::socket::shutdown_send, ignored);
}

asio::awaitable<admin_server::response> admin_server::respond(const request& req) {
    const auto& token_value = sources_.cfg.admin.token;
    if (!admin::authorized(req[http::field::authorization], token_value)) {
        auto res = error_reply(req, http::status::unauthorized, "a bearer token is required");
        res.set(http::field::www_authenticate, "Bearer realm=\"outpost\"");
        co_return res;
    }
    auto target = admin::parse_target(req.target());
    if (!target)
        co_return error_reply(req, http::status::bad_request, "malformed request target");
    const auto& path = target->path;
    auto query = [&](const char* key) -> std::optional<std::string> {
        auto it = target->query.find(key);
        if (it == target->query.end() || it->second.empty())
            return std::nullopt;
        return it->second;
    };
    auto method = req.method();
    auto only = [&](http::verb allowed) {
        auto res = error_reply(req, http::status::method_not_allowed, "method not allowed");
        res.set(http::field::allow, http::to_string(allowed));
        return res;
    };

    constexpr std::string_view queue_prefix = "/api/v1/queue/";
    if (path == "/metrics") {
        if (method != http::verb::get)
            co_return only(http::verb::get);
        co_return reply(
            req, http::status::ok, metrics_text(), "text/plain; version=0.0.4; charset=utf-8"
        );
    }
    if (path == "/api/v1/status") {
        if (method != http::verb::get)
            co_return only(http::verb::get);
        co_return reply(req, http::status::ok, status_json(), "application/json");
    }
    if (path == "/api/v1/throttles") {
        if (method != http::verb::get)
            co_return only(http::verb::get);
        co_return json_reply(req, http::status::ok, throttles_json());
    }
    if (path == "/api/v1/throttles/suspend" || path == "/api/v1/throttles/resume") {
        if (method != http::verb::post)
            co_return only(http::verb::post);
        auto key = query("key").value_or("");
        // KEY or KEY@IP: one source IP's backoff at a key.
        auto at = key.find('@');
        std::string_view base = std::string_view(key).substr(0, at);
        bool well_formed =
            base == "default" ||
            ((base.starts_with("domain:") || base.starts_with("provider:")) &&
             base.find_first_of(" \t\r\n") == std::string::npos && base.back() != ':');
        if (well_formed && at != std::string::npos) {
            boost::system::error_code ec;
            boost::asio::ip::make_address(key.substr(at + 1), ec);
            well_formed = !ec;
        }
        if (!well_formed)
            co_return error_reply(
                req, http::status::bad_request,
                "key must be domain:DOMAIN, provider:NAME or default, optionally followed by @IP"
            );
        json::object o;
        o["key"] = key;
        if (path.ends_with("/resume")) {
            sources_.runner.resume_key(key);
            o["resumed"] = true;
            co_return json_reply(req, http::status::ok, o);
        }
        std::int64_t seconds = 0;
        auto text = query("seconds").value_or("");
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
        if (ec != std::errc{} || end != text.data() + text.size() || seconds <= 0 ||
            seconds > 30 * 86400)
            co_return error_reply(
                req, http::status::bad_request, "seconds must be 1 to 2592000 (30 days)"
            );
        sources_.runner.suspend_key(key, std::chrono::seconds(seconds));
        o["suspended_s"] = seconds;
        co_return json_reply(req, http::status::ok, o);
    }
    if (path == "/api/v1/queue") {
        if (method != http::verb::get)
            co_return only(http::verb::get);
        co_return co_await queue_list(
            req, query("domain").value_or(""), query("state").value_or("")
        );
    }
    if (path == "/api/v1/queue/hold" || path == "/api/v1/queue/release") {
        if (method != http::verb::post)
            co_return only(http::verb::post);
        auto id = query("id").value_or("");
        if (!spool::valid_queue_id(id))
            co_return error_reply(req, http::status::not_found, fmt::format("no message {}", id));
        bool hold = path.ends_with("/hold");
        bool done = hold ? sources_.runner.hold(id) : co_await sources_.runner.release(id);
        if (!done)
            co_return error_reply(
                req, http::status::conflict,
                hold ? fmt::format("message {} is not queued, or is being delivered now", id)
                     : fmt::format("message {} is not held", id)
            );
        json::object o;
        o[hold ? "held" : "released"] = id;
        co_return json_reply(req, http::status::ok, o);
    }
    if (path == "/api/v1/queue/flush") {
        if (method != http::verb::post)
            co_return only(http::verb::post);
        co_return queue_flush(req, query("id"), query("domain"));
    }
    if (path.starts_with(queue_prefix)) {
        auto id = path.substr(queue_prefix.size());
        if (!spool::valid_queue_id(id))
            co_return error_reply(req, http::status::not_found, fmt::format("no message {}", id));
        if (method == http::verb::get)
            co_return co_await queue_show(req, id);
        if (method == http::verb::delete_)
            co_return co_await queue_delete(req, id);
        auto res = error_reply(req, http::status::method_not_allowed, "method not allowed");
        res.set(http::field::allow, "GET, DELETE");
        co_return res;
    }
    co_return error_reply(req, http::status::not_found, fmt::format("no such resource {}", path));
}

json::object admin_server::throttles_json() const {
    auto wall = std::chrono::system_clock::now();
    auto unix = [](std::chrono::system_clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    };
    json::array keys;
    for (const auto& k : sources_.runner.throttle_status()) {
        json::object o;
        o["key"] = k.key;
        if (k.configured.pace)
            o["rate"] = k.configured.pace->text();
        else
            o["rate"] = nullptr;
        o["max_connections"] = k.configured.max_connections;
        o["max_messages_per_connection"] = k.configured.max_messages_per_connection;
        o["fraction"] = k.fraction;
        o["suspended"] = k.suspended;
        if (k.suspended)
            o["suspended_until"] = unix(k.suspended_until);
        else
            o["suspended_until"] = nullptr;
        o["repeats"] = k.repeats;
        o["last_slowdown"] = k.last_slowdown;
        o["connections"] = k.connections;
        keys.push_back(std::move(o));
    }
    json::object o;
    o["now"] = unix(wall);
    o["keys"] = std::move(keys);
    return o;
}

std::string admin_server::metrics_text() const {
    admin::metrics_snapshot s;
    s.version = sources_.version;
    s.connections = sources_.listeners.active_connections();
    const auto& counters = util::metrics();
    s.messages_received = counters.messages_received.value();
    s.rcpt_delivered = counters.rcpt_delivered.value();
    s.rcpt_deferred = counters.rcpt_deferred.value();
    s.rcpt_bounced = counters.rcpt_bounced.value();
    auto q = sources_.runner.stats();
    s.jobs_ready = q.ready;
    s.jobs_deferred = q.deferred;
    s.jobs_active = q.active;
    s.messages_held = sources_.runner.held().size();
    s.destinations = q.destinations;
    auto t = now();
    std::optional<std::int64_t> oldest;
    for (const auto* j : sources_.runner.queued())
        if (!oldest || j->arrived < *oldest)
            oldest = j->arrived;
    s.oldest_seconds = oldest ? t - *oldest : 0;
    auto w = sources_.writer.stats();
    s.spool_files = w.files;
    s.spool_batches = w.batches;
    s.uptime_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    for (const auto& [provider, c] : counters.by_provider.read())
        s.by_provider.push_back({provider, c[0], c[1], c[2]});
    s.suppressions_added = counters.suppressions_added.read();
    if (sources_.suppressions)
        s.suppressions_removed = sources_.suppressions->removed_by_reason();
    s.rcpt_refused = counters.rcpt_refused.read();
    s.backoffs_started = counters.backoffs_started.read();
    s.delivered_by_tls_policy = counters.delivered_by_tls_policy.read();
    s.mta_sts_failures = counters.mta_sts_failures.read();
    s.dane_failures = counters.dane_failures.read();
    auto reload = counters.last_reload.read();
    s.last_reload_at = reload.at;
    s.last_reload_ok = reload.ok;
    for (auto& use : sources_.runner.warming_usage())
        s.warming.push_back({std::move(use.ip), std::move(use.provider), use.sent, use.cap});
    auto copy = [](const util::histogram& h) {
        auto r = h.read();
        return admin::metrics_snapshot::distribution{
            std::move(r.bounds), std::move(r.cumulative), r.count, r.sum};
    };
    s.signing_seconds = copy(counters.signing_seconds);
    s.transaction_seconds = copy(counters.transaction_seconds);
    s.delivery_delay_seconds = copy(counters.delivery_delay_seconds);
    if (sources_.cluster && sources_.cluster->enabled()) {
        auto v = sources_.cluster->look(sources_.cfg);
        s.cluster = admin::metrics_snapshot::cluster_state{
            v.redis_up, v.degraded,        v.latency_seconds,
            v.nodes,    v.changes_applied, v.local_rate_decisions};
    }
    if (sources_.events && sources_.events->log) {
        admin::metrics_snapshot::event_state ev;
        ev.appended = sources_.events->log->appended();
        ev.write_failures = sources_.events->log->failed();
        for (const auto& hook : sources_.events->look())
            ev.webhooks.push_back({hook.name, hook.sent, hook.failures, hook.lag_seconds});
        s.events = std::move(ev);
    }
    if (sources_.dmarc) {
        const auto& seen = sources_.dmarc->seen();
        s.dmarc_reports =
            admin::metrics_snapshot::dmarc_state{seen.stored, seen.duplicates, seen.unreadable};
        // Our signing domains only: report senders choose the header_from they write, and a
        // series per stranger's domain would grow without bound.
        std::set<std::string> ours;
        for (const auto& k : sources_.cfg.dkim_keys)
            ours.insert(util::to_lower(k.domain));
        for (const auto& [domain, sums] : sources_.dmarc->totals())
            if (ours.count(domain))
                s.dmarc_domains.push_back(
                    {domain, sums.counts.messages, sums.counts.dkim_aligned,
                     sums.counts.spf_aligned, sums.counts.dmarc_pass, sums.foreign_sources}
                );
    }
    return admin::render_metrics(s);
}

std::string admin_server::status_json() const {
    auto t = now();
    json::object o;
    o["version"] = sources_.version;
    o["started"] = started_unix_;
    o["uptime_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::steady_clock::now() - started_
    )
                              .count();
    o["hostname"] = sources_.cfg.server.hostname;
    o["spool_dir"] = sources_.where.root.string();
    json::array listeners;
    for (const auto& a : sources_.listeners.bound_addresses())
        listeners.emplace_back(a);
    o["listeners"] = std::move(listeners);
    o["admin"] = sources_.cfg.admin.address;
    o["connections"] = sources_.listeners.active_connections();
    auto reload = util::metrics().last_reload.read();
    json::object last_reload;
    last_reload["at"] = reload.at;
    last_reload["ok"] = reload.ok;
    last_reload["error"] = reload.error;
    o["last_reload"] = std::move(last_reload);
    auto q = sources_.runner.stats();
    std::optional<std::int64_t> oldest;
    for (const auto* j : sources_.runner.queued())
        if (!oldest || j->arrived < *oldest)
            oldest = j->arrived;
    json::object queue;
    queue["ready"] = q.ready;
    queue["deferred"] = q.deferred;
    queue["active"] = q.active;
    queue["held"] = sources_.runner.held().size();
    queue["destinations"] = q.destinations;
    queue["oldest_seconds"] = oldest ? t - *oldest : 0;
    o["queue"] = std::move(queue);
    const auto& counters = util::metrics();
    json::object totals;
    totals["received"] = counters.messages_received.value();
    totals["delivered"] = counters.rcpt_delivered.value();
    totals["deferred"] = counters.rcpt_deferred.value();
    totals["bounced"] = counters.rcpt_bounced.value();
    o["counters"] = std::move(totals);
    if (sources_.cluster && sources_.cluster->enabled()) {
        auto v = sources_.cluster->look(sources_.cfg);
        json::object c;
        c["node"] = v.node;
        c["redis"] = v.redis;
        c["redis_up"] = v.redis_up;
        c["degraded"] = v.degraded;
        c["redis_latency_seconds"] = v.latency_seconds;
        c["nodes"] = v.nodes;
        c["last_sync"] = v.last_sync;
        c["suppression_changes_applied"] = v.changes_applied;
        c["local_rate_decisions"] = v.local_rate_decisions;
        o["cluster"] = std::move(c);
    }
    if (sources_.events && sources_.events->log) {
        json::object ev;
        ev["appended"] = sources_.events->log->appended();
        ev["write_failures"] = sources_.events->log->failed();
        json::array hooks;
        for (const auto& w : sources_.events->look()) {
            json::object h;
            h["name"] = w.name;
            h["sent"] = w.sent;
            h["failures"] = w.failures;
            h["failing_in_a_row"] = w.failing_in_a_row;
            h["lag_seconds"] = w.lag_seconds;
            h["last_error"] = w.last_error;
            hooks.push_back(std::move(h));
        }
        ev["webhooks"] = std::move(hooks);
        o["events"] = std::move(ev);
    }
    return json::serialize(o) + "\n";
}

asio::awaitable<admin_server::response> admin_server::queue_list(
    const request& req, const std::string& domain, const std::string& state
) {
    admin::queue_filter filter;
    if (!domain.empty())
        filter.domain = domain;
    if (!state.empty()) {
        filter.state = admin::parse_job_state(state);
        if (!filter.state || *filter.state == admin::job_state::queued)
            co_return error_reply(
                req, http::status::bad_request,
                fmt::format("unknown state \"{}\" (ready, deferred, active or held)", state)
            );
    }
    auto t = now();
    std::vector<admin::queue_entry> entries;
    for (const auto* j : sources_.runner.queued()) {
        auto e = admin::entry_of(*j, t);
        if (admin::matches(e, filter))
            entries.push_back(std::move(e));
    }
    // Messages in flight have no queued job: they are the spool files nobody holds. Reading the
    // directory costs a scan, so only a listing that may show them pays it.
    if (!filter.state || *filter.state == admin::job_state::active ||
        *filter.state == admin::job_state::held) {
        auto where = sources_.where;
        auto ids =
            co_await util::offload(sources_.workers, [&where] { return spool::list_queue(where); });
        std::set<std::string> held;  // spool files with a queued job: listed above
        for (const auto* j : sources_.runner.queued())
            held.insert(j->id);
        std::vector<std::string> on_hold;
        for (const auto& id : sources_.runner.held())
            if (held.insert(id).second)
                on_hold.push_back(id);
        std::vector<std::string> loose;
        for (auto& id : ids)
            if (!held.count(id))
                loose.push_back(std::move(id));
        auto active = co_await util::offload(sources_.workers, [&where, &loose] {
            std::vector<admin::queue_entry> out;
            for (const auto& id : loose) {
                auto text = spool::read_file(where.message(id));
                auto rec = text ? spool::parse(*text) : std::nullopt;
                if (!rec)
                    continue;  // delivered and removed meanwhile, or unreadable
                for (auto& e : admin::entries_of(*rec, admin::job_state::active))
                    out.push_back(std::move(e));
            }
            return out;
        });
        for (auto& e : active)
            if (admin::matches(e, filter))
                entries.push_back(std::move(e));
        auto parked = co_await util::offload(sources_.workers, [&where, &on_hold] {
            std::vector<admin::queue_entry> out;
            for (const auto& id : on_hold) {
                auto text = spool::read_file(where.message(id));
                auto rec = text ? spool::parse(*text) : std::nullopt;
                if (rec)
                    for (auto& e : admin::entries_of(*rec, admin::job_state::held))
                        out.push_back(std::move(e));
            }
            return out;
        });
        for (auto& e : parked)
            if (admin::matches(e, filter))
                entries.push_back(std::move(e));
    }
    co_return json_reply(req, http::status::ok, admin::queue_json(std::move(entries), t, "daemon"));
}

asio::awaitable<admin_server::response> admin_server::queue_show(
    const request& req, const std::string& id
) {
    auto path = sources_.where.message(id);
    std::string error;
    auto rec = co_await util::offload(sources_.workers, [&path, &error] {
        auto text = spool::read_file(path);
        return text ? spool::parse(*text, &error) : std::nullopt;
    });
    if (!rec) {
        if (!error.empty())
            co_return error_reply(
                req, http::status::internal_server_error,
                fmt::format("spool file {} is damaged: {}", id, error)
            );
        co_return error_reply(req, http::status::not_found, fmt::format("no message {}", id));
    }
    if (sources_.runner.held().count(id))
        co_return json_reply(
            req, http::status::ok,
            admin::message_json(
                *rec, admin::entries_of(*rec, admin::job_state::held), admin::job_state::held,
                "daemon"
            )
        );
    auto t = now();
    std::vector<admin::queue_entry> entries;
    for (const auto* j : sources_.runner.queued())
        if (j->id == id)
            entries.push_back(admin::entry_of(*j, t));
    co_return json_reply(
        req, http::status::ok,
        admin::message_json(*rec, entries, admin::job_state::active, "daemon")
    );
}

admin_server::response admin_server::queue_flush(
    const request& req,
    const std::optional<std::string>& id,
    const std::optional<std::string>& domain
) {
    if (id && !spool::valid_queue_id(*id))
        return error_reply(req, http::status::not_found, fmt::format("no message {}", *id));
    std::optional<std::string> destination;
    if (domain)
        destination = util::to_lower(*domain);
    auto n = sources_.runner.flush(destination, id);
    log::info(
        "queue_flush", {{"queue_id", id.value_or("")}, {"domain", domain.value_or("")}, {"jobs", n}}
    );
    json::object o;
    o["flushed"] = n;
    return json_reply(req, http::status::ok, o);
}

asio::awaitable<admin_server::response> admin_server::queue_delete(
    const request& req, const std::string& id
) {
    if (sources_.runner.remove(id)) {
        json::object o;
        o["deleted"] = id;
        co_return json_reply(req, http::status::ok, o);
    }
    auto path = sources_.where.message(id);
    auto exists = co_await util::offload(sources_.workers, [&path] {
        std::error_code ec;
        return std::filesystem::exists(path, ec);
    });
    if (exists)
        co_return error_reply(
            req, http::status::conflict,
            fmt::format("message {} is being delivered now; try again when the attempt ends", id)
        );
    co_return error_reply(req, http::status::not_found, fmt::format("no message {}", id));
}

}  // namespace outpost::daemon
