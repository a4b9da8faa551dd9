// Each config item summarized as one line of text; a reload compares the summaries by name.
#include "config/diff.hpp"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/http_url.hpp"
#include "config/redis_url.hpp"

namespace outpost::config {

namespace {

std::string ms(duration d) {
    return fmt::format("{}ms", d.count());
}

std::string caps(const std::vector<std::uint64_t>& daily) {
    return fmt::format("[{}]", fmt::join(daily, ", "));
}

// Name → summary of everything a reload can apply, and (second map) what needs a restart.
struct summaries {
    std::map<std::string, std::string> live;
    std::map<std::string, std::string> restart;
};

summaries summarize(const config& c) {
    summaries s;
    for (const auto& k : c.dkim_keys)
        s.live[fmt::format("dkim key {}/{} ({})", k.domain, k.selector, k.algorithm)] = fmt::format(
            "key {}{}{}", k.private_key, k.sign ? "" : ", retired (verification only)",
            k.sign_subdomains ? ", signs subdomains" : ""
        );
    s.live["dkim"] = fmt::format(
        "headers [{}], oversign [{}], x= {}, reject_unsignable {}", fmt::join(c.dkim.headers, " "),
        fmt::join(c.dkim.oversign, " "), ms(c.dkim.expiration), c.dkim.reject_unsignable
    );
    s.live["arc"] = c.arc.enabled ? fmt::format("on, authserv_id {}", c.arc.authserv_id) : "off";
    for (const auto& ip : c.source_ips)
        s.live[fmt::format("source_ip {}", ip.address.to_string())] = fmt::format(
            "ehlo {}, warming {} from {}", ip.ehlo, ip.warming.empty() ? "none" : ip.warming,
            ip.warming_start.empty() ? "-" : ip.warming_start
        );
    for (const auto& [name, w] : c.warming) {
        std::string text = fmt::format("daily {}", caps(w.daily));
        for (const auto& [provider, daily] : w.provider)
            text += fmt::format(", {} {}", provider, caps(daily));
        text += fmt::format(
            ", ceiling {}, time zone {}, pace {}, gates deferral {} bounce {} complaint {} ({}), "
            "overflow [{}]",
            w.ceiling ? fmt::format("{}", *w.ceiling) : "none", w.time_zone, w.pace,
            w.max_deferral_rate, w.max_bounce_rate, w.max_complaint_rate, w.on_unhealthy,
            fmt::join(w.overflow, " ")
        );
        s.live[fmt::format("warming {}", name)] = text;
    }
    for (const auto& p : c.providers)
        s.live[fmt::format("provider {}", p.name)] = fmt::format(
            "mx [{}], domains [{}], rate {}, max_connections {}, max_messages_per_connection {}",
            fmt::join(p.mx, " "), fmt::join(p.domains, " "), p.rate.empty() ? "none" : p.rate,
            p.max_connections, p.max_messages_per_connection
        );
    for (const auto& t : c.throttles)
        s.live[fmt::format("throttle {}", t.domain)] = fmt::format(
            "rate {}, max_connections {}, max_messages_per_connection {}",
            t.rate.empty() ? "none" : t.rate, t.max_connections, t.max_messages_per_connection
        );
    for (const auto& r : c.routes)
        s.live[fmt::format("route [{}]", fmt::join(r.domains, " "))] =
            r.tls.empty() ? r.next_hop.text() : fmt::format("{} tls {}", r.next_hop.text(), r.tls);
    for (const auto& d : c.domains)
        s.live[fmt::format("domain {}", d.domain)] = fmt::format("tls {}", d.tls);
    const auto& d = c.delivery;
    std::vector<std::string> retry;
    for (auto r : d.retry)
        retry.push_back(ms(r));
    std::vector<std::string> dns;
    for (const auto& e : d.dns_servers)
        dns.push_back(e.text());
    s.live["delivery"] = fmt::format(
        "retry [{}], max_lifetime {}, port {}, tls {}, max_messages_per_connection {}, "
        "idle_connection_time {}, "
        "max_connections {}, max_connections_per_destination {}, connect_timeout {}, "
        "command_timeout {}, tls_handshake_timeout {}, data_start_timeout {}, "
        "data_write_timeout {}, data_end_timeout {}, mta_sts {}, dane {}",
        fmt::join(retry, " "), ms(d.max_lifetime), d.port, d.tls, d.max_messages_per_connection,
        ms(d.idle_connection_time), d.max_connections, d.max_connections_per_destination,
        ms(d.connect_timeout), ms(d.command_timeout), ms(d.tls_handshake_timeout),
        ms(d.data_start_timeout), ms(d.data_write_timeout), ms(d.data_end_timeout),
        d.mta_sts ? "on" : "off", d.dane ? "on" : "off"
    );
    // Read once at start, into the certificate-checking context.
    s.live["tls_report"] =
        fmt::format("organization {}, contact {}", c.tls_report.organization, c.tls_report.contact);
    s.restart["delivery.tls_ca_file"] = d.tls_ca_file.empty() ? "none" : d.tls_ca_file;

    std::vector<std::string> listeners;
    for (const auto& l : c.listeners)
        listeners.push_back(fmt::format(
            "{} tls={} auth={} priority={}", l.address.text(),
            l.tls == tls_mode::none       ? "none"
            : l.tls == tls_mode::starttls ? "starttls"
                                          : "implicit",
            l.auth == auth_policy::none       ? "none"
            : l.auth == auth_policy::optional ? "optional"
                                              : "required",
            l.priority
        ));
    s.live["listeners"] = fmt::format("[{}]", fmt::join(listeners, ", "));
    s.live["hostname"] = c.server.hostname;
    s.live["shaping"] =
        c.shaping.slowdown_table.empty()
            ? std::string("slowdown_table built-in")
            : fmt::format(
                  "slowdown_table {} ({} bytes, {:016x})", c.shaping.slowdown_table,
                  c.shaping.slowdown_text.size(), std::hash<std::string>{}(c.shaping.slowdown_text)
              );
    s.restart["server"] = fmt::format(
        "spool_dir {}, workers {}, shutdown_timeout {}, spool_reserve {}", c.server.spool_dir,
        c.server.workers, ms(c.server.shutdown_timeout), c.server.spool_reserve
    );
    s.live["tls"] = c.tls ? fmt::format(
                                "certificate {}, key {}, min {}", c.tls->certificate,
                                c.tls->private_key, c.tls->min_version
                            )
                          : "none";
    std::vector<std::string> networks;
    for (const auto& n : c.relay.allowed_networks)
        networks.push_back(n.text());
    s.live["relay"] = fmt::format("allowed_networks [{}]", fmt::join(networks, " "));
    const auto& l = c.limits;
    s.live["limits"] = fmt::format(
        "size {}, recipients {}, line {}, command {}, connections {}/{} per client, errors {}, "
        "commands {}, junk {}, timeouts {} {} {}",
        l.max_message_size, l.max_recipients, l.max_line_length, l.max_command_length,
        l.max_connections, l.max_connections_per_client, l.max_errors, l.max_commands,
        l.max_junk_commands, ms(l.command_timeout), ms(l.data_timeout), ms(l.session_timeout)
    );
    s.restart["auth"] =
        fmt::format("max_failures {} in {}", c.auth.max_failures, ms(c.auth.failure_window));
    s.restart["bounce"] = fmt::format(
        "domain {}, soft limit {} in {}, suppressed {}, soft entries expire after {}",
        c.bounce.domain, c.bounce.soft_bounce_limit, ms(c.bounce.soft_bounce_window),
        c.bounce.suppressed_recipient, ms(c.bounce.soft_suppression_ttl)
    );
    s.restart["admin"] = c.admin.address;
    s.restart["cluster"] =
        c.cluster
            ? fmt::format(
                  "redis {}, prefix {}, node {}, timeout {}", redact_redis_url(c.cluster->redis),
                  c.cluster->key_prefix, c.cluster->node, ms(c.cluster->timeout)
              )
            : "none";
    s.restart["dns_servers"] = fmt::format("[{}]", fmt::join(dns, " "));
    s.restart["events"] = fmt::format(
        "{}, retention {}, tag_header {}", c.events.enabled ? "on" : "off", ms(c.events.retention),
        c.events.tag_header
    );
    std::vector<std::string> hooks;
    for (const auto& w : c.webhooks)  // the secret itself never: only where it is read from
        hooks.push_back(fmt::format(
            "{} {} secret_file {} events [{}] batch {} timeout {} ca {}", w.name,
            redact_http_url(w.url), w.secret_file, fmt::join(w.events, " "), w.batch_size,
            ms(w.timeout), w.tls_ca_file.empty() ? "system" : w.tls_ca_file
        ));
    std::vector<std::string> own;
    for (const auto& n : c.dmarc.own_networks)
        own.push_back(n.text());
    s.restart["dmarc"] = fmt::format(
        "report_address {}, own_networks [{}]",
        c.dmarc.report_address.empty() ? "none" : c.dmarc.report_address, fmt::join(own, " ")
    );
    s.restart["webhooks"] = fmt::format("[{}]", fmt::join(hooks, ", "));
    s.live["log"] = fmt::format(
        "level {}, format {}", static_cast<int>(c.log.level), static_cast<int>(c.log.format)
    );
    return s;
}

void compare(
    const std::map<std::string, std::string>& before,
    const std::map<std::string, std::string>& after,
    const char* suffix,
    std::vector<std::string>& out
) {
    for (const auto& [name, text] : before) {
        auto it = after.find(name);
        if (it == after.end())
            out.push_back(fmt::format("removed {}{}", name, suffix));
        else if (it->second != text)
            out.push_back(fmt::format("{}: {} → {}{}", name, text, it->second, suffix));
    }
    for (const auto& [name, text] : after)
        if (!before.count(name))
            out.push_back(fmt::format("added {}: {}{}", name, text, suffix));
}

}  // namespace

std::vector<std::string> describe_changes(const config& before, const config& after) {
    auto b = summarize(before);
    auto a = summarize(after);
    std::vector<std::string> out;
    compare(b.live, a.live, "", out);
    compare(b.restart, a.restart, " (applies on restart)", out);
    return out;
}

}  // namespace outpost::config
