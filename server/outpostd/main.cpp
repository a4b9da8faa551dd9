// outpostd: accepts mail from applications, signs it, spools it durably (and, as later parts land,
// delivers it). Runs in the foreground; systemd supervises it.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "config/diff.hpp"
#include "config/load.hpp"
#include "core/dmarc/health.hpp"
#include "core/dns/resolver.hpp"
#include "core/listener/intake.hpp"
#include "core/listener/server.hpp"
#include "core/listener/tls_context.hpp"
#include "core/listener/users.hpp"
#include "core/queue/feedback.hpp"
#include "core/queue/runner.hpp"
#include "core/shaping/counters.hpp"
#include "core/shaping/slowdown.hpp"
#include "core/spool/layout.hpp"
#include "core/spool/space.hpp"
#include "core/spool/writer.hpp"
#include "core/tlspolicy/cache.hpp"
#include "core/tlspolicy/fetch.hpp"
#include "core/util/log.hpp"
#include "core/util/metrics.hpp"
#include "server/outpostd/admin.hpp"
#include "server/outpostd/bounce_setup.hpp"
#include "server/outpostd/cluster_setup.hpp"
#include "server/outpostd/dmarc_setup.hpp"
#include "server/outpostd/events_setup.hpp"
#include "server/outpostd/notify.hpp"
#include "server/outpostd/signing.hpp"
#include "server/outpostd/tls_reports.hpp"

#ifndef OUTPOST_VERSION
#define OUTPOST_VERSION "dev"
#endif

namespace asio = boost::asio;
using namespace outpost;

namespace {

constexpr const char* usage =
    "usage: outpostd --config FILE [--check-config]\n"
    "  --config FILE    the TOML configuration (default /etc/outpost/outpost.toml)\n"
    "  --check-config   validate the configuration, keys and certificates, then exit\n"
    "  --version        print the version\n";

struct arguments {
    std::string config = "/etc/outpost/outpost.toml";
    bool check_only = false;
};

std::optional<arguments> parse_arguments(int argc, char** argv, int& exit_code) {
    arguments a;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            a.config = argv[++i];
        } else if (arg.starts_with("--config=")) {
            a.config = arg.substr(9);
        } else if (arg == "--check-config") {
            a.check_only = true;
        } else if (arg == "--version") {
            std::cout << "outpostd " << OUTPOST_VERSION << "\n";
            exit_code = 0;
            return std::nullopt;
        } else if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            exit_code = 0;
            return std::nullopt;
        } else {
            std::cerr << "outpostd: unknown argument " << arg << "\n" << usage;
            exit_code = 2;
            return std::nullopt;
        }
    }
    return a;
}

bool offers_auth(const config::config& cfg) {
    for (const auto& l : cfg.listeners)
        if (l.auth != config::auth_policy::none)
            return true;
    return false;
}

std::int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch()
    )
        .count();
}

// Whether a socket can be bound to the address here (EADDRNOTAVAIL otherwise).
bool address_is_local(const asio::ip::address& a) {
    asio::io_context io;
    asio::ip::udp::socket s(io);
    boost::system::error_code ec;
    s.open(a.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), ec);
    if (!ec)
        s.bind({a, 0}, ec);
    return !ec;
}

// The first [[source_ip]] that is not an address of this host, as FILE:LINE:COL: message.
std::optional<std::string> foreign_source_ip(const config::config& cfg) {
    for (const auto& ip : cfg.source_ips)
        if (!address_is_local(ip.address))
            return fmt::format(
                "{}:{}:{}: source_ip.address {} is not an address of this host", cfg.path,
                ip.where.line, ip.where.column, ip.address.to_string()
            );
    return std::nullopt;
}

// Everything that can be wrong with a config short of binding the sockets, as FILE:LINE:COL.
struct runtime_parts {
    std::shared_ptr<asio::ssl::context> tls;
    std::shared_ptr<const listener::user_table> users;
    listener::sign_fn sign;
};

std::variant<runtime_parts, std::string> prepare(const config::config& cfg) {
    runtime_parts parts;
    if (cfg.tls) {
        try {
            parts.tls = listener::make_server_tls(*cfg.tls);
        } catch (const std::exception& e) {
            return fmt::format(
                "{}:{}:{}: {}", cfg.path, cfg.tls->where.line, cfg.tls->where.column, e.what()
            );
        }
    }
    if (!cfg.auth.users_file.empty()) {
        auto loaded = listener::user_table::load(cfg.auth.users_file, true);
        if (auto* error = std::get_if<std::string>(&loaded))
            return fmt::format(
                "{}:{}:{}: {}", cfg.path, cfg.auth.users_file_where.line,
                cfg.auth.users_file_where.column, *error
            );
        parts.users =
            std::make_shared<listener::user_table>(std::move(std::get<listener::user_table>(loaded))
            );
    } else if (offers_auth(cfg)) {
        // AUTH offered with no users file: every attempt fails, which is what "no users" means.
        parts.users = std::make_shared<listener::user_table>();
    }
    if (!cfg.shaping.slowdown_text.empty()) {
        std::string why;  // "LINE: what"
        if (!shaping::parse_slowdown_rules(cfg.shaping.slowdown_text, &why))
            return fmt::format("{}:{}", cfg.shaping.slowdown_table, why);
    }
    auto sign = daemon::make_signer(cfg);
    if (auto* error = std::get_if<std::string>(&sign))
        return *error;
    parts.sign = std::move(std::get<listener::sign_fn>(sign));
    return parts;
}

}  // namespace

int main(int argc, char** argv) {
    int exit_code = 0;
    auto args = parse_arguments(argc, argv, exit_code);
    if (!args)
        return exit_code;

    auto loaded = config::load(args->config);
    if (auto* error = std::get_if<config::load_error>(&loaded)) {
        std::cerr << error->message << "\n";
        return 2;
    }
    const auto cfg = std::move(std::get<config::config>(loaded));
    auto prepared = prepare(cfg);
    if (auto* error = std::get_if<std::string>(&prepared)) {
        std::cerr << *error << "\n";
        return 2;
    }
    auto parts = std::move(std::get<runtime_parts>(prepared));
    // A [[source_ip]] this host does not have cannot be bound: an error at start, a warning for
    // --check-config (which may run on another host, before a deployment).
    if (auto foreign = foreign_source_ip(cfg)) {
        if (!args->check_only) {
            std::cerr << *foreign << "\n";
            return 2;
        }
        std::cerr << "warning: " << *foreign << "\n";
    }
    if (args->check_only) {
        std::cout << args->config << ": ok\n";
        return 0;
    }

    log::configure(
        static_cast<log::level>(cfg.log.level),
        cfg.log.format == config::log_format::json ? log::format::json : log::format::logfmt
    );
    try {
        spool::layout where{cfg.server.spool_dir};
        spool::prepare(where);

        asio::io_context io(1);
        auto threads = cfg.server.workers ? cfg.server.workers
                                          : std::max(1u, std::thread::hardware_concurrency());
        asio::thread_pool workers(threads);
        spool::writer writer(where, io.get_executor());
        listener::intake intake(
            {cfg.server.hostname, cfg.bounce.domain, cfg.delivery.priority_header,
             cfg.events.enabled ? cfg.events.tag_header : std::string(), cfg.dmarc.report_address},
            writer, workers, parts.sign
        );
        // DMARC aggregate reports to [dmarc] report_address: read into spool_dir/dmarc.sqlite.
        std::unique_ptr<daemon::report_intake> dmarc_reports;
        if (!cfg.dmarc.report_address.empty()) {
            dmarc_reports = std::make_unique<daemon::report_intake>(cfg, workers);
            intake.on_report([&](const std::string& id, std::string_view content) {
                return dmarc_reports->receive(id, content);
            });
        }
        // Every recipient's outcome, as events in spool_dir/events, sent on by [[webhook]]s.
        auto events = daemon::open_events(cfg);
        auto event_sink = events.sink();
        intake.on_event(event_sink);
        // The config in force: replaced whole by a good reload; what holds a copy keeps it alive.
        auto current = std::make_shared<const config::config>(cfg);
        listener::server server(io, current, intake, parts.users, parts.tls, workers);
        spool::space_guard space(where.root, cfg.server.spool_reserve);
        // Low on space: the retired files the writer keeps for reuse are deleted first, so they
        // never hold space that new mail is refused for.
        auto storage_low = [&space, &writer](std::uint64_t bytes) {
            bool low = space.low(bytes);
            if (low)
                writer.release_reusable();
            return low;
        };
        server.set_storage_low([storage_low] { return storage_low(0); });
        intake.set_storage_low(storage_low);

        auto stores = daemon::open_bounce_stores(cfg);
        auto cluster = daemon::join_cluster(io, cfg, stores);
        queue::feedback feedback(cfg.bounce, stores.secrets, *stores.list, *stores.state);
        feedback.set_events(event_sink);
        if (cfg.bounce.suppressed_recipient == "reject")
            server.set_suppressed([&](const std::string& address) {
                auto why = feedback.suppressed(address);
                if (why && event_sink)
                    event_sink(daemon::refused_at_rcpt(address, *why));
                return why;
            });
        intake.on_inbound([&](const std::vector<std::string>& recipients,
                              std::string_view content) {
            auto now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()
            )
                           .count();
            return feedback.on_inbound(recipients, content, now);
        });
        if (cluster.bounces)
            feedback.share(cluster.bounces.get());

        dns::resolver_options dns_options;
        for (const auto& e : cfg.delivery.dns_servers)
            dns_options.servers.push_back({e.host, e.port});
        auto resolver = dns::make_cares_resolver(io.get_executor(), dns_options);
        if (cfg.delivery.dane && !resolver->trusts_authenticated_data())
            log::warn(
                "dane_inactive",
                {{"reason",
                  "the DNS servers are not all on this host, so their AD bit is not believed "
                  "(RFC 7672 2.1): run a validating resolver on loopback for DANE"}}
            );
        intake.set_txt_lookup(
            [&](std::vector<std::string> names) -> asio::awaitable<listener::txt_table> {
                listener::txt_table table;
                for (auto& name : names) {
                    auto a = co_await resolver->txt(name);
                    listener::txt_answer t;
                    t.state =
                        a.ok() ? listener::txt_answer::status::found
                        : (a.result == dns::status::nxdomain || a.result == dns::status::nodata)
                            ? listener::txt_answer::status::missing
                            : listener::txt_answer::status::temporary;
                    t.records = std::move(a.records);
                    table.emplace(std::move(name), std::move(t));
                }
                co_return table;
            }
        );
        // Warming counters: per IP × provider × day, persisted so that caps hold across restarts.
        std::string counters_error;
        auto counters = shaping::sqlite_counter_store::open(
            (std::filesystem::path(cfg.server.spool_dir) /
             shaping::sqlite_counter_store::default_file)
                .string(),
            &counters_error
        );
        if (!counters)
            throw std::runtime_error("warming counters: " + counters_error);
        // MTA-STS: policies cached beside the spool (kept across restarts); under enforce, MX
        // certificates are checked with the system's CAs and [delivery] tls_ca_file.
        auto verifying_tls = tlspolicy::verifying_context(cfg.delivery.tls_ca_file);
        std::string sts_error;
        auto sts_cache = tlspolicy::policy_cache::open(
            (std::filesystem::path(cfg.server.spool_dir) / tlspolicy::policy_cache::default_file)
                .string(),
            &sts_error
        );
        if (!sts_cache)
            throw std::runtime_error("MTA-STS policy cache: " + sts_error);
        tlspolicy::sts_source sts(
            *resolver,
            [&](std::string domain) {
                return tlspolicy::fetch_sts_policy(*resolver, verifying_tls, std::move(domain));
            },
            sts_cache.get(),
            [] {
                return std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()
                )
                    .count();
            }
        );
        // In a cluster the warming caps are counted in Redis, the backoffs kept here as well.
        auto* warming_counters = daemon::share_counters(cluster, cfg, *counters);
        // With [dmarc], each day's DMARC pass rate from the reports joins the health counts.
        std::optional<dmarc::health_counts> dmarc_health;
        if (!cfg.dmarc.report_address.empty()) {
            dmarc_health.emplace(
                *warming_counters,
                (std::filesystem::path(cfg.server.spool_dir) / dmarc::default_file).string()
            );
            warming_counters = &*dmarc_health;
        }
        queue::runner delivery(
            io, current, where, writer, workers, *resolver, warming_counters, counters.get()
        );
        delivery.set_feedback(&feedback);
        delivery.set_events(event_sink);
        daemon::start_cluster(cluster, cfg, delivery, OUTPOST_VERSION, dmarc_reports.get());
        delivery.set_mta_sts(&sts, verifying_tls);
        feedback.on_returned([&](const suppression::sent_entry& sent, bool complaint,
                                 std::int64_t at) { delivery.returned(sent, complaint, at); });
        intake.on_spooled([&](const std::string& id, const smtp::envelope& env,
                              std::int64_t arrived, std::string file) {
            delivery.submitted(id, env, arrived, std::move(file));
        });
        // TLS-RPT: yesterday's reports (and any of the last week not yet sent) by mail.
        daemon::tls_reporter tls_reports(io, current, *sts_cache, *resolver, intake, [] {
            return std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()
            )
                .count();
        });
        server.start();
        delivery.start();
        tls_reports.start();
        events.start(io, cfg, *resolver);
        daemon::admin_server admin(
            io, {cfg, delivery, server, writer, where, workers, OUTPOST_VERSION, stores.list.get(),
                 &cluster, &events, dmarc_reports.get()}
        );
        admin.start();

        asio::signal_set stop_signals(io, SIGTERM, SIGINT);
        asio::signal_set reload_signal(io, SIGHUP);
        bool stopping = false;
        stop_signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec)
                return;
            stopping = true;
            reload_signal.cancel();
            admin.stop();
            tls_reports.stop();
            events.stop();
            daemon::notify("STOPPING=1");
            log::info(
                "shutdown", {{"signal", sig == SIGTERM ? "TERM" : "INT"},
                             {"sessions", server.active_connections()}}
            );
            asio::co_spawn(
                io,
                [&]() -> asio::awaitable<void> {
                    co_await server.drain(cfg.server.shutdown_timeout);
                    co_await delivery.stop(std::chrono::seconds(10));
                    co_await cluster.close(std::chrono::milliseconds(500));
                    resolver->shutdown();
                },
                [&](std::exception_ptr) {
                    writer.stop();  // finishes every write already handed in
                    io.stop();
                }
            );
        });
        std::function<void()> wait_reload = [&] {
            reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
                if (ec || stopping)
                    return;
                daemon::notify("RELOADING=1");
                // All or nothing: the new file, its TLS certificate, keys and users file must all
                // be good, and new listeners bound, before any of it applies; otherwise the old
                // config stays in force. The spool, workers, admin endpoint and bounce settings
                // apply on restart (the change lines say so).
                auto reloaded = config::load(args->config);
                if (auto* error = std::get_if<config::load_error>(&reloaded)) {
                    log::error("reload_failed", {{"error", error->message}});
                    util::metrics().last_reload.set(unix_seconds(), false, error->message);
                } else {
                    auto fresh = std::make_shared<const config::config>(
                        std::move(std::get<config::config>(reloaded))
                    );
                    auto prepared_again = prepare(*fresh);
                    std::optional<std::string> failure;
                    if (auto* not_ready = std::get_if<std::string>(&prepared_again))
                        failure = *not_ready;
                    else if (auto foreign = foreign_source_ip(*fresh))
                        failure = *foreign;
                    else
                        failure =
                            server.reconfigure(fresh, std::get<runtime_parts>(prepared_again).tls);
                    if (failure) {
                        log::error("reload_failed", {{"error", *failure}});
                        util::metrics().last_reload.set(unix_seconds(), false, *failure);
                    } else {
                        auto& next = std::get<runtime_parts>(prepared_again);
                        for (const auto& change : config::describe_changes(*current, *fresh))
                            log::info("reload_change", {{"change", change}});
                        intake.set_signer(std::move(next.sign));
                        intake.set_settings(
                            {fresh->server.hostname, cfg.bounce.domain,
                             fresh->delivery.priority_header,
                             cfg.events.enabled ? cfg.events.tag_header : std::string(),
                             cfg.dmarc.report_address}
                        );
                        server.set_users(std::move(next.users));
                        delivery.reconfigure(fresh);
                        log::configure(
                            static_cast<log::level>(fresh->log.level),
                            fresh->log.format == config::log_format::json ? log::format::json
                                                                          : log::format::logfmt
                        );
                        current = fresh;
                        util::metrics().last_reload.set(unix_seconds(), true, "");
                        log::info(
                            "reload", {{"dkim_keys", fresh->dkim_keys.size()},
                                       {"arc", fresh->arc.enabled ? "on" : "off"},
                                       {"listeners", fresh->listeners.size()},
                                       {"source_ips", fresh->source_ips.size()},
                                       {"providers", fresh->providers.size()},
                                       {"throttles", fresh->throttles.size()}}
                        );
                    }
                }
                daemon::notify("READY=1");
                wait_reload();
            });
        };
        wait_reload();

        log::info(
            "started", {{"version", OUTPOST_VERSION},
                        {"hostname", cfg.server.hostname},
                        {"spool", cfg.server.spool_dir},
                        {"workers", threads}}
        );
        daemon::notify("READY=1\nSTATUS=accepting mail");
        io.run();
        writer.stop();
        workers.join();
        auto stats = writer.stats();
        log::info(
            "stopped",
            {{"spooled", stats.files}, {"batches", stats.batches}, {"files_reused", stats.reused}}
        );
    } catch (const std::exception& e) {
        log::error("fatal", {{"error", e.what()}});
        std::cerr << "outpostd: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
