// The configuration as typed values: what config::load() produces from outpost.toml.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace outpost::config {

using duration = std::chrono::milliseconds;

// Where a value came from, so checks made after parsing (key files, reload diffs) can still report
// FILE:LINE:COL.
struct position {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;

    std::string text() const;
};

// "127.0.0.1:587", "[::1]:587" or, where a host name is allowed, "mx.example.com:25".
struct endpoint {
    std::string host;
    std::uint16_t port = 0;

    std::string text() const;
};

// An IPv4 or IPv6 network in CIDR form; an address without "/len" is a single host.
struct network {
    boost::asio::ip::address base;
    unsigned prefix_length = 0;

    bool contains(const boost::asio::ip::address& a) const;
    std::string text() const;
};

enum class tls_mode { none, starttls, implicit };
enum class auth_policy { none, optional, required };

struct listener {
    endpoint address;
    tls_mode tls = tls_mode::none;
    auth_policy auth = auth_policy::optional;
    position where;
    // Default priority of mail submitted here (the priority header overrides it): high | normal |
    // low. Higher priority mail gets warming and throttle capacity first.
    std::string priority = "normal";
};

struct server_section {
    std::string hostname;
    // outpost.service's StateDirectory, the one place its hardening lets the daemon write.
    std::string spool_dir = "/var/lib/outpost";
    unsigned workers = 0;  // threads for signing and disk work; 0 = one per core
    duration shutdown_timeout = std::chrono::seconds(30);
    // Free space kept for delivery bookkeeping: below it, new mail gets 452 4.3.1 at MAIL, RCPT
    // and end of data.
    std::uint64_t spool_reserve = 64ull << 20;
};

struct tls_section {
    std::string certificate;
    std::string private_key;
    std::string min_version = "1.2";
    position where;
};

struct relay_section {
    std::vector<network> allowed_networks;
};

struct auth_section {
    std::string users_file;
    unsigned max_failures = 5;                           // failed AUTH per client address ...
    duration failure_window = std::chrono::minutes(10);  // ... within this window locks it out
    position users_file_where;
};

struct limits_section {
    std::uint64_t max_message_size = 25ull << 20;
    unsigned max_recipients = 1000;
    unsigned max_line_length = 998;      // RFC 5322 §2.1.1, excluding CRLF
    unsigned max_command_length = 2048;  // RFC 5321 allows 512; extensions make lines longer
    unsigned max_connections = 1000;
    unsigned max_connections_per_client = 100;
    unsigned max_errors = 10;
    unsigned max_commands = 100000;    // per session
    unsigned max_junk_commands = 100;  // NOOP/RSET/VRFY/HELP before each counts as an error
    duration command_timeout = std::chrono::minutes(5);  // RFC 5321 §4.5.3.2.7, per command line
    duration session_timeout = std::chrono::hours(1);    // a whole session
    duration data_timeout = std::chrono::minutes(10);    // whole DATA transfer
};

enum class log_level { debug, info, warn, error };
enum class log_format { logfmt, json };

struct log_section {
    log_level level = log_level::info;
    log_format format = log_format::logfmt;
};

struct dkim_key {
    std::string domain;
    std::string selector;
    std::string algorithm = "rsa-sha256";  // or ed25519-sha256
    std::string private_key;
    bool sign_subdomains = true;  // a subdomain without its own key signs with this one (d= parent)
    // false: the key is loaded and checked but signs nothing (a retired key whose DNS record stays
    // published until mail signed with it has been delivered and verified).
    bool sign = true;
    position where;
    position private_key_where;
};

struct dkim_section {
    std::vector<std::string> headers;   // header fields to sign; empty = the built-in default list
    std::vector<std::string> oversign;  // listed once more than present; empty = built-in default
    duration expiration{0};             // x= after t=; 0 = no x=
    bool reject_unsignable = false;     // zero or several From: fields: reject instead of accept
};

struct arc_section {
    bool enabled = false;
    std::string authserv_id;
    std::string domain;
    std::string selector;
    std::string algorithm = "rsa-sha256";
    std::string private_key;
    position where;
    position private_key_where;
};

struct delivery_section {
    std::vector<duration> retry = {std::chrono::minutes(5),  std::chrono::minutes(15),
                                   std::chrono::minutes(30), std::chrono::hours(1),
                                   std::chrono::hours(2),    std::chrono::hours(4)};
    duration max_lifetime = std::chrono::hours(24 * 5);
    std::uint16_t port = 25;
    std::vector<endpoint> dns_servers;
    // none | opportunistic | required | verify (STARTTLS with a certificate valid for the MX name)
    std::string tls = "opportunistic";
    // MTA-STS (RFC 8461): a recipient domain's published policy raises tls to a verified
    // certificate on a listed MX (enforce), or is reported on (testing). [[route]]s are exempt.
    bool mta_sts = true;
    // DANE (RFC 7672): an MX host whose MX and address answers are DNSSEC-validated and that
    // publishes validated TLSA records gets STARTTLS with a certificate they match, or nothing.
    // Takes precedence over MTA-STS. Trusts the AD bit of dns_servers, which must therefore be
    // a validating resolver on this host (unbound, systemd-resolved with DNSSEC=yes).
    bool dane = true;
    // PEM certificates trusted beside the system store, for MTA-STS fetches and MX certificates.
    std::string tls_ca_file;
    unsigned max_messages_per_connection = 100;
    // A connection that carried everything it was given waits this long, idle, for the next
    // delivery to the same server on the same terms (Postfix's smtp_connection_cache_time_limit).
    // 0: QUIT at once.
    duration idle_connection_time = std::chrono::seconds(2);
    unsigned max_connections = 200;
    unsigned max_connections_per_destination = 5;  // until [[throttle]] says otherwise
    duration connect_timeout = std::chrono::seconds(30);
    duration command_timeout = std::chrono::minutes(5);
    // The other waits on a receiver, RFC 5321 §4.5.3.2's minimums by default (Postfix's
    // smtp_starttls_timeout, smtp_data_init/xfer/done_timeout).
    duration tls_handshake_timeout = std::chrono::minutes(1);
    duration data_start_timeout = std::chrono::minutes(2);  // DATA's 354
    duration data_write_timeout = std::chrono::minutes(3);  // each write of the message
    duration data_end_timeout = std::chrono::minutes(10);   // the reply to the final dot
    // Submission header that sets a message's priority (high | normal | low); Outpost removes it
    // before signing. Empty: priority comes from the listener only.
    std::string priority_header = "X-Outpost-Priority";
};

struct route {
    std::vector<std::string> domains;  // "*" matches every domain
    endpoint next_hop;
    std::string tls;  // none | opportunistic | required | verify; empty: [delivery] tls
    position where;
};

struct domain_policy {
    std::string domain;
    // none | opportunistic | required | verify | dane (only to MX hosts with DNSSEC-validated
    // TLSA records, under their check)
    std::string tls;
};

struct source_ip {
    boost::asio::ip::address address;
    std::string ehlo;
    std::string warming;
    std::string warming_start;  // YYYY-MM-DD
    position where;
};

struct warming_schedule {
    std::vector<std::uint64_t> daily;
    std::map<std::string, std::vector<std::uint64_t>> provider;  // provider name → daily caps
    position where;
    // The cap once daily (or a provider's list) ends, and an upper bound on every day; unset:
    // unlimited after the list.
    std::optional<std::uint64_t> ceiling;
    std::string time_zone = "UTC";  // day boundary: "UTC" or a fixed offset such as "+01:00"
    bool pace = true;               // spread each day's cap evenly over the day
    // Health gates: the schedule advances only after a day whose rates stayed at or under these.
    double max_deferral_rate = 0.10;    // deferred / sent
    double max_bounce_rate = 0.05;      // bounced / sent
    double max_complaint_rate = 0.003;  // complaints / sent
    double min_dmarc_pass_rate = 0;     // from DMARC aggregate reports ([dmarc]); 0: not judged
    std::string on_unhealthy = "hold";  // hold | step_back
    std::vector<std::string> overflow;  // already-warm source IPs that take the surplus
};

struct provider {
    std::string name;
    std::vector<std::string> mx;  // MX host patterns, "*.google.com"
    std::vector<std::string> domains;
    std::string rate;
    unsigned max_connections = 0;
    unsigned max_messages_per_connection = 0;
    position where;
};

struct throttle {
    std::string domain;
    std::string rate;
    unsigned max_connections = 0;
    unsigned max_messages_per_connection = 0;
    position where;
};

struct bounce_section {
    std::string domain;  // VERP return paths and inbound DSNs; empty: no VERP
    std::string secret;  // HMAC key of VERP tokens; empty: generated in spool_dir/verp.secret
    unsigned soft_bounce_limit = 3;                              // consecutive soft bounces ...
    duration soft_bounce_window = std::chrono::hours(24 * 7);    // ... within this window suppress
    std::string suppressed_recipient = "reject";                 // reject (550 at RCPT) | drop
    duration soft_suppression_ttl = std::chrono::hours(24 * 7);  // soft entries expire after this
};

struct admin_section {
    std::string address = "127.0.0.1:9025";  // host:port, or an absolute path for a unix socket
    bool address_configured = false;         // false: the default (not binding it is a warning)
    // Bearer token the admin endpoint requires when set; required for a non-loopback address.
    std::string token;
};

// [shaping]: the operator's rows for the slow-down table, read before the built-in ones.
struct shaping_section {
    std::string slowdown_table;  // path; empty: the built-in table alone
    std::string slowdown_text;   // its contents, read when the config is loaded
    position where;
};

// TLS-RPT (RFC 8460): who the reports of our sessions with MTA-STS domains say they are from.
struct tls_report_section {
    std::string organization;  // organization-name; empty: server.hostname
    std::string contact;       // contact-info; empty: postmaster@server.hostname
};

// [cluster]: several nodes share state on one Redis (README, "Several nodes"). Absent: one
// node, everything in the spool directory.
struct cluster_section {
    std::string redis;  // as written; logs show config::redact_redis_url(redis)
    std::string host;   // TCP host; empty when socket_path is set
    unsigned port = 6379;
    std::string socket_path;
    unsigned database = 0;
    std::string username;       // from the URL (Redis 6 ACL user); empty: the default user
    std::string password;       // from the URL or password_file (which wins); never logged
    std::string password_file;  // absolute path, read when the config is loaded
    std::string key_prefix = "outpost:";
    duration timeout = std::chrono::milliseconds(500);  // per Redis call; then the link is down
    std::string
        node;  // this node's name; default the host's name (gethostname), not server.hostname
    position where;
};

// [dmarc]: DMARC aggregate reports (rua=) received at report_address: read, never relayed.
struct dmarc_section {
    std::string report_address;         // lower case; empty: reports are not read
    std::vector<network> own_networks;  // besides [[source_ip]]: addresses that send as us
};

// [events]: the durable log of every recipient's outcome (spool_dir/events/, JSON lines).
struct events_section {
    bool enabled = true;
    duration retention = std::chrono::hours(24 * 7);  // segments older than this are removed
    std::string tag_header = "X-Outpost-Tag";         // taken off before signing, kept in events
};

// [[webhook]]: events POSTed as JSON batches, signed with HMAC-SHA256, from the durable log.
struct webhook {
    std::string name;         // names its cursor file and its metrics; default: the URL's host
    std::string url;          // https://HOST[:PORT]/PATH (http:// only to loopback)
    std::string secret;       // read from secret_file
    std::string secret_file;  // absolute path
    std::vector<std::string> events;  // kinds sent; empty: all
    unsigned batch_size = 100;
    duration timeout = std::chrono::seconds(10);
    std::string tls_ca_file;  // CA certificates trusted besides the system's
    position where;
};

struct config {
    std::string path;
    server_section server;
    std::vector<listener> listeners;
    std::optional<tls_section> tls;
    relay_section relay;
    auth_section auth;
    limits_section limits;
    log_section log;
    std::vector<dkim_key> dkim_keys;
    dkim_section dkim;
    arc_section arc;
    delivery_section delivery;
    std::vector<route> routes;
    std::vector<domain_policy> domains;
    std::vector<source_ip> source_ips;
    std::map<std::string, warming_schedule> warming;
    std::vector<provider> providers;
    std::vector<throttle> throttles;
    shaping_section shaping;
    bounce_section bounce;
    admin_section admin;
    tls_report_section tls_report;
    std::optional<cluster_section> cluster;
    events_section events;
    std::vector<webhook> webhooks;
    dmarc_section dmarc;
};

// The [[route]] that carries mail for domain (the first that lists it, or "*"); null: by MX.
const route* route_for(const config& cfg, std::string_view domain);

}  // namespace outpost::config
