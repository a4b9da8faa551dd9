#include "server/outpostd/tls_reports.hpp"

#include <chrono>
#include <cstdio>
#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/delivery/delivery.hpp"
#include "core/delivery/targets.hpp"
#include "core/dns/destination.hpp"
#include "core/smtp/envelope.hpp"
#include "core/spool/queue_id.hpp"
#include "core/tlspolicy/tls_report.hpp"
#include "core/tlspolicy/tls_report_mail.hpp"
#include "core/util/log.hpp"
#include "core/util/text.hpp"

namespace outpost::daemon {

namespace asio = boost::asio;

namespace {

constexpr std::int64_t day_seconds = 86400;
// Reports are about the last days only: a daemon down for a month does not mail a backlog.
constexpr std::int64_t days_back = 7;

// contact-info may be an address or a URI (RFC 8460 §4.4); the report is from an address.
std::string sender_address(const std::string& contact, const std::string& hostname) {
    auto c = std::string_view(contact);
    if (util::istarts_with(c, "mailto:"))
        c.remove_prefix(7);
    if (c.find('@') != std::string_view::npos && c.find(':') == std::string_view::npos &&
        c.find(' ') == std::string_view::npos)
        return std::string(c);
    return "postmaster@" + hostname;
}

// How a report goes (§3: opportunistic TLS whatever the rua's policies say), from the pool's
// first source IP when there is a pool, with its EHLO name.
delivery::options options_for(const config::config& cfg) {
    delivery::options opts;
    opts.ehlo_name = cfg.server.hostname;
    if (!cfg.source_ips.empty()) {
        opts.source = cfg.source_ips.front().address;
        if (!cfg.source_ips.front().ehlo.empty())
            opts.ehlo_name = cfg.source_ips.front().ehlo;
    }
    opts.tls = delivery::tls_policy::opportunistic;
    auto in_ms = [](config::duration t) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(t);
    };
    opts.limits.connect = in_ms(cfg.delivery.connect_timeout);
    opts.limits.greeting = opts.limits.command = in_ms(cfg.delivery.command_timeout);
    opts.limits.tls_handshake = in_ms(cfg.delivery.tls_handshake_timeout);
    opts.limits.data_start = in_ms(cfg.delivery.data_start_timeout);
    opts.limits.data_block = in_ms(cfg.delivery.data_write_timeout);
    opts.limits.data_end = in_ms(cfg.delivery.data_end_timeout);
    return opts;
}

// "2027-01-15" → its first second, UTC.
std::int64_t day_start(const std::string& day) {
    int y = 0;
    unsigned m = 0, d = 0;
    if (std::sscanf(day.c_str(), "%d-%u-%u", &y, &m, &d) != 3)
        return 0;
    std::chrono::sys_days start{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}};
    return std::chrono::duration_cast<std::chrono::seconds>(start.time_since_epoch()).count();
}

}  // namespace

tls_reporter::tls_reporter(
    asio::io_context& io,
    const std::shared_ptr<const config::config>& current,
    tlspolicy::policy_cache& cache,
    dns::resolver& resolver,
    listener::intake& intake,
    std::function<std::int64_t()> now
)
    : io_(io),
      current_(current),
      cache_(cache),
      resolver_(resolver),
      intake_(intake),
      now_(std::move(now)),
      timer_(io) {}

void tls_reporter::start() {
    asio::co_spawn(io_, run(), [](std::exception_ptr e) {
        if (!e)
            return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            log::error("tls_report_failed", {{"error", x.what()}});
        }
    });
}

void tls_reporter::stop() {
    stopped_ = true;
    timer_.cancel();
}

asio::awaitable<void> tls_reporter::run() {
    while (!stopped_) {
        co_await send_due();
        timer_.expires_after(std::chrono::hours(1));
        boost::system::error_code ec;
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<void> tls_reporter::send_due() {
    auto t = now_();
    auto due = cache_.unreported(util::utc_date(t - days_back * day_seconds), util::utc_date(t));
    std::size_t done = 0;
    for (const auto& [day, domain] : due) {
        if (stopped_)
            co_return;
        done += co_await send(day, domain) ? 1 : 0;
    }
    log::info("tls_reports_checked", {{"due", due.size()}, {"done", done}});
}

asio::awaitable<bool> tls_reporter::send(const std::string& day, const std::string& domain) {
    auto cfg = current_;  // this report's config, whatever a reload does meanwhile
    auto txt = co_await resolver_.txt("_smtp._tls." + domain);
    if (!txt.ok() && txt.result != dns::status::nxdomain && txt.result != dns::status::nodata) {
        log::warn(
            "tls_report_deferred", {{"day", day},
                                    {"domain", domain},
                                    {"reason", fmt::format(
                                                   "DNS failure looking up _smtp._tls.{}: {}",
                                                   domain, dns::to_string(txt.result)
                                               )}}
        );
        co_return false;
    }
    auto rua = tlspolicy::tlsrpt_mail_addresses(txt.records);
    if (rua.empty()) {
        log::info("tls_report_not_wanted", {{"day", day}, {"domain", domain}});
        if (!cache_.mark_reported(day, domain, "no rua mailto", now_()))
            log::error("tls_report_mark_failed", {{"day", day}, {"domain", domain}});
        co_return true;
    }
    // A retry goes only to the addresses without a final answer yet.
    auto done = cache_.report_addresses(day, domain);
    std::erase_if(rua, [&](const std::string& a) { return done.count(a) > 0; });
    if (rua.empty()) {
        if (!cache_.mark_reported(day, domain, "every rua address answered", now_()))
            log::error("tls_report_mark_failed", {{"day", day}, {"domain", domain}});
        co_return true;
    }
    const auto& hostname = cfg->server.hostname;
    auto meta = tlspolicy::our_report_meta(
        cfg->tls_report.organization, cfg->tls_report.contact, hostname, day, domain
    );
    tlspolicy::report_mail mail;
    mail.from = sender_address(meta.contact, hostname);
    mail.submitter = util::to_lower(mail.from.substr(mail.from.rfind('@') + 1));
    mail.to = rua;
    mail.policy_domain = domain;
    mail.report_id = meta.report_id;
    mail.begin = day_start(day);
    mail.end = mail.begin + day_seconds - 1;
    mail.date = now_();
    mail.message_id = fmt::format("tlsrpt.{}.{}@{}", day, spool::next_queue_id(), hostname);
    mail.json = tlspolicy::compose_tls_report(
        meta, day, domain, cache_.day_policies(day, domain), cache_.sessions(day, domain)
    );
    smtp::envelope env;
    env.reverse_path = mail.from;
    for (const auto& a : rua)
        env.recipients.push_back({a, 0, {}});
    env.client_address = "127.0.0.1";
    env.helo = hostname;
    auto content = tlspolicy::compose_report_mail(mail);
    auto signing = co_await intake_.sign_own(env, content, now_());
    if (signing.header_block.empty()) {
        // Receivers ignore unsigned reports (§5.3): it goes once a key signs for the domain.
        log::warn(
            "tls_report_deferred", {{"day", day},
                                    {"domain", domain},
                                    {"reason", fmt::format("not signed ({})", signing.summary)}}
        );
        co_return false;
    }
    auto outcome = co_await deliver(*cfg, env, signing.header_block + content);
    for (const auto& a : outcome.done)
        if (!cache_.note_report_address(day, domain, a))
            log::error("tls_report_mark_failed", {{"day", day}, {"domain", domain}, {"to", a}});
    if (!outcome.pending.empty()) {
        log::warn(
            "tls_report_deferred",
            {{"day", day},
             {"domain", domain},
             {"reason", fmt::format("{}", fmt::join(outcome.pending, "; "))},
             {"answered", fmt::format("{}", fmt::join(outcome.answers, "; "))}}
        );
        co_return false;
    }
    // Delivered (or refused for good) to every rua address: never again, even if this mark is
    // lost (then a second copy goes rather than none).
    auto summary = fmt::format("{}", fmt::join(outcome.answers, "; "));
    if (!cache_.mark_reported(day, domain, summary, now_()))
        log::error("tls_report_mark_failed", {{"day", day}, {"domain", domain}});
    log::info(
        "tls_report_sent", {{"day", day},
                            {"domain", domain},
                            {"to", fmt::format("{}", fmt::join(rua, ","))},
                            {"result", summary},
                            {"report_id", meta.report_id}}
    );
    co_return true;
}

// RFC 8460 §3: reports are delivered despite TLS failures, and their sessions are not counted:
// so not through the queue (whose delivery applies DANE and MTA-STS and counts sessions), but
// straight to each rua domain's MX with opportunistic TLS. Retries come from send_due: a report
// is only marked once every address has a final answer.
asio::awaitable<tls_reporter::delivery_outcome> tls_reporter::deliver(
    const config::config& cfg, const smtp::envelope& env, std::string message
) {
    delivery_outcome out;
    std::map<std::string, std::vector<smtp::recipient>> by_domain;
    for (const auto& r : env.recipients)
        by_domain[util::to_lower(r.address.substr(r.address.rfind('@') + 1))].push_back(r);
    for (auto& [rcpt_domain, recipients] : by_domain) {
        std::vector<delivery::target> targets;
        if (const auto* static_route = config::route_for(cfg, rcpt_domain)) {
            // The route's next hop, as the queue would use it; its tls does not apply (§3).
            const auto& hop = static_route->next_hop;
            targets = co_await delivery::next_hop_targets(resolver_, hop.host, hop.port);
            if (targets.empty()) {
                out.pending.push_back(
                    fmt::format("{}: next hop {} has no address", rcpt_domain, hop.text())
                );
                continue;
            }
        } else {
            auto route =
                co_await dns::resolve_destination(resolver_, rcpt_domain, dns::make_random_index());
            if (route.result == dns::outcome::temporary) {
                out.pending.push_back(fmt::format("{}: {}", rcpt_domain, route.text));
                continue;
            }
            if (route.result == dns::outcome::permanent) {
                for (const auto& r : recipients) {
                    out.done.push_back(r.address);
                    out.answers.push_back(fmt::format("{}: {}", r.address, route.text));
                }
                continue;
            }
            targets = delivery::to_targets(route, cfg.delivery.port);
        }
        delivery::message msg;
        msg.mail_from = env.reverse_path;
        msg.recipients = recipients;
        msg.content = {asio::buffer(message)};
        auto r = co_await delivery::deliver(
            io_.get_executor(), std::move(targets), options_for(cfg), std::move(msg)
        );
        for (const auto& rc : r.recipients) {
            auto line = fmt::format(
                "{} {}: {}", rc.address, smtp::to_string(rc.outcome), rc.response.summary()
            );
            if (rc.outcome == smtp::rcpt_outcome::transient) {
                out.pending.push_back(std::move(line));
            } else {
                out.done.push_back(rc.address);
                out.answers.push_back(std::move(line));
            }
        }
    }
    co_return out;
}

}  // namespace outpost::daemon
