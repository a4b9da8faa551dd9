#include "config/load.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include "config/http_url.hpp"
#include "config/redis_url.hpp"
#include "core/util/text.hpp"

namespace outpost::config {

namespace {

// Thrown inside the loader only; load() turns it into a load_error.
struct config_error {
    toml::source_region where;
    std::string what;
};

[[noreturn]] void fail(const toml::source_region& where, std::string what) {
    throw config_error{where, std::move(what)};
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string node_type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        default:
            return "a date or time";
    }
}

// One TOML table being read: typed getters that report the value's position, and a final check
// that every key in the file was one the schema knows.
class section {
public:
    section(const toml::table& table, std::string name) : table_(table), name_(std::move(name)) {}

    const toml::node* node(std::string_view key) {
        known_.insert(std::string(key));
        return table_.get(key);
    }

    std::optional<std::string> string(std::string_view key) {
        auto* n = node(key);
        if (!n)
            return std::nullopt;
        if (!n->is_string())
            fail(
                n->source(),
                fmt::format("{} must be a string, not {}", full(key), node_type_name(*n))
            );
        return n->as_string()->get();
    }

    std::string required_string(std::string_view key) {
        auto v = string(key);
        if (!v)
            fail(table_.source(), fmt::format("{} is required", full(key)));
        if (v->empty())
            fail(node(key)->source(), fmt::format("{} must not be empty", full(key)));
        return *v;
    }

    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) {
        auto* n = node(key);
        if (!n)
            return std::nullopt;
        if (!n->is_integer())
            fail(
                n->source(),
                fmt::format("{} must be an integer, not {}", full(key), node_type_name(*n))
            );
        auto v = n->as_integer()->get();
        if (v < min || v > max)
            fail(n->source(), fmt::format("{} must be between {} and {}", full(key), min, max));
        return v;
    }

    void unsigned_value(
        std::string_view key, unsigned& out, std::int64_t min = 0, std::int64_t max = 1'000'000'000
    ) {
        if (auto v = integer(key, min, max))
            out = static_cast<unsigned>(*v);
    }

    std::optional<bool> boolean(std::string_view key) {
        auto* n = node(key);
        if (!n)
            return std::nullopt;
        if (!n->is_boolean())
            fail(
                n->source(),
                fmt::format("{} must be true or false, not {}", full(key), node_type_name(*n))
            );
        return n->as_boolean()->get();
    }

    std::optional<duration> duration_value(std::string_view key) {
        auto* n = node(key);
        if (!n)
            return std::nullopt;
        return parse_duration_node(*n, full(key));
    }

    void duration_into(std::string_view key, duration& out) {
        if (auto v = duration_value(key))
            out = *v;
    }

    // A wait on a peer: a second at least (a zero deadline would fail every read at once).
    void deadline_into(std::string_view key, duration& out) {
        auto v = duration_value(key);
        if (!v)
            return;
        if (*v < std::chrono::seconds(1))
            fail(node(key)->source(), fmt::format("{} must be at least 1s", full(key)));
        out = *v;
    }

    std::optional<std::uint64_t> size_value(std::string_view key) {
        auto* n = node(key);
        if (!n)
            return std::nullopt;
        if (n->is_integer() && n->as_integer()->get() >= 0)
            return static_cast<std::uint64_t>(n->as_integer()->get());
        if (n->is_string()) {
            if (auto v = util::parse_size(n->as_string()->get()))
                return v;
        }
        fail(
            n->source(),
            fmt::format("{} must be a size such as \"25MB\" or a number of bytes", full(key))
        );
    }

    // A string that must be one of choices.
    std::optional<std::string> choice(
        std::string_view key, std::initializer_list<std::string_view> choices
    ) {
        auto v = string(key);
        if (!v)
            return std::nullopt;
        if (std::find(choices.begin(), choices.end(), *v) == choices.end()) {
            std::string list;
            for (auto c : choices)
                list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", c);
            fail(
                node(key)->source(),
                fmt::format("{} must be one of {}, not \"{}\"", full(key), list, *v)
            );
        }
        return v;
    }

    const toml::array* array(std::string_view key) {
        auto* n = node(key);
        if (!n)
            return nullptr;
        if (!n->is_array())
            fail(
                n->source(),
                fmt::format("{} must be an array, not {}", full(key), node_type_name(*n))
            );
        return n->as_array();
    }

    std::vector<std::string> string_array(std::string_view key) {
        std::vector<std::string> out;
        if (auto* a = array(key)) {
            for (const auto& e : *a) {
                if (!e.is_string())
                    fail(e.source(), fmt::format("{} must contain only strings", full(key)));
                out.push_back(e.as_string()->get());
            }
        }
        return out;
    }

    // The position of key's value, or of the table when the key is absent.
    position where(std::string_view key, const std::string& file) {
        const auto* n = table_.get(key);
        const auto& src = n ? n->source() : table_.source();
        return position{file, src.begin.line, src.begin.column};
    }

    const toml::table& table() const { return table_; }

    std::string full(std::string_view key) const {
        return name_.empty() ? std::string(key) : fmt::format("{}.{}", name_, key);
    }

    // Every key not asked for is an error: a typo must never be silently ignored.
    void finish() const {
        for (auto&& [k, v] : table_) {
            if (known_.count(std::string(k.str())))
                continue;
            std::string hint;
            std::size_t best = 3;
            for (const auto& candidate : known_) {
                auto d = edit_distance(k.str(), candidate);
                if (d < best) {
                    best = d;
                    hint = fmt::format(" (did you mean \"{}\"?)", candidate);
                }
            }
            fail(
                k.source(),
                fmt::format("unknown key \"{}\"{}{}", full(k.str()), name_.empty() ? "" : "", hint)
            );
        }
    }

    static duration parse_duration_node(const toml::node& n, const std::string& what) {
        if (n.is_string()) {
            if (auto d = util::parse_duration(n.as_string()->get()))
                return *d;
        }
        fail(
            n.source(),
            fmt::format("{} must be a duration such as \"30s\", \"5m\", \"2h\" or \"5d\"", what)
        );
    }

private:
    const toml::table& table_;
    std::string name_;
    std::set<std::string> known_;
};

const toml::table& as_table(const toml::node& n, const std::string& what) {
    if (!n.is_table())
        fail(n.source(), fmt::format("{} must be a table, not {}", what, node_type_name(n)));
    return *n.as_table();
}

// Reads [[name]] as an array of tables; a single [name] table is an error that says so.
std::vector<const toml::table*> table_array(section& root, std::string_view key) {
    std::vector<const toml::table*> out;
    auto* n = root.node(key);
    if (!n)
        return out;
    if (!n->is_array_of_tables())
        fail(n->source(), fmt::format("{} must be written as [[{}]] entries", key, key));
    for (const auto& e : *n->as_array())
        out.push_back(e.as_table());
    return out;
}

std::optional<boost::asio::ip::address> parse_ip(std::string_view text) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(std::string(text), ec);
    if (ec)
        return std::nullopt;
    return a;
}

// "host:port" or "[v6]:port"; with require_ip the host must be an IP address.
std::optional<endpoint> parse_endpoint(std::string_view text, bool require_ip) {
    std::string host;
    std::string_view port_text;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = std::string(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
        auto ip = parse_ip(host);
        if (!ip || !ip->is_v6())
            return std::nullopt;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos || colon == 0)
            return std::nullopt;
        host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string::npos)
            return std::nullopt;  // a bare IPv6 address needs brackets
        if (require_ip && !parse_ip(host))
            return std::nullopt;
        if (!require_ip && !parse_ip(host)) {
            for (char c : host)
                if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'))
                    return std::nullopt;
        }
    }
    unsigned port = 0;
    if (port_text.empty() || port_text.size() > 5)
        return std::nullopt;
    for (char c : port_text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535)
        return std::nullopt;
    return endpoint{host, static_cast<std::uint16_t>(port)};
}

std::optional<network> parse_network(std::string_view text) {
    auto slash = text.find('/');
    auto ip = parse_ip(text.substr(0, slash));
    if (!ip)
        return std::nullopt;
    unsigned max_len = ip->is_v4() ? 32 : 128;
    unsigned len = max_len;
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3)
            return std::nullopt;
        len = 0;
        for (char c : digits) {
            if (c < '0' || c > '9')
                return std::nullopt;
            len = len * 10 + static_cast<unsigned>(c - '0');
        }
        if (len > max_len)
            return std::nullopt;
    }
    // A network with host bits set ("10.0.0.1/8") is almost always a typo.
    std::vector<unsigned char> bytes;
    if (ip->is_v4()) {
        auto b = ip->to_v4().to_bytes();
        bytes.assign(b.begin(), b.end());
    } else {
        auto b = ip->to_v6().to_bytes();
        bytes.assign(b.begin(), b.end());
    }
    for (unsigned bit = len; bit < max_len; ++bit)
        if (bytes[bit / 8] & (0x80u >> (bit % 8)))
            return std::nullopt;
    return network{*ip, len};
}

// A file the daemon must be able to read; key files must also not be readable by others.
void check_file(
    const toml::node& n, const std::string& path, const std::string& what, bool secret
) {
    struct stat st {};

    if (::stat(path.c_str(), &st) != 0)
        fail(n.source(), fmt::format("{} \"{}\" does not exist", what, path));
    if (!S_ISREG(st.st_mode))
        fail(n.source(), fmt::format("{} \"{}\" is not a regular file", what, path));
    if (::access(path.c_str(), R_OK) != 0)
        fail(n.source(), fmt::format("{} \"{}\" is not readable", what, path));
    if (secret && (st.st_mode & S_IROTH))
        fail(
            n.source(), fmt::format("{} \"{}\" is readable by everyone; chmod 600 it", what, path)
        );
}

std::string default_hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0')
        return "localhost";
    return buf;
}

bool valid_domain(std::string_view d) {
    if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.')
        return false;
    for (auto label : util::split(d, '.')) {
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
                return false;
    }
    return true;
}

std::string domain_value(section& s, std::string_view key, bool required) {
    auto v = required ? s.required_string(key) : s.string(key).value_or("");
    if (!v.empty() && !valid_domain(v))
        fail(
            s.node(key)->source(),
            fmt::format("{} \"{}\" is not a valid domain name", s.full(key), v)
        );
    return util::to_lower(v);
}

void read_server(section& root, config& c) {
    auto* n = root.node("server");
    if (n) {
        section s(as_table(*n, "server"), "server");
        c.server.hostname = domain_value(s, "hostname", false);
        if (auto v = s.string("spool_dir")) {
            if (v->empty() || v->front() != '/')
                fail(s.node("spool_dir")->source(), "server.spool_dir must be an absolute path");
            c.server.spool_dir = *v;
        }
        s.unsigned_value("workers", c.server.workers, 0, 256);
        s.duration_into("shutdown_timeout", c.server.shutdown_timeout);
        if (auto v = s.size_value("spool_reserve"))
            c.server.spool_reserve = *v;
        s.finish();
    }
    if (c.server.hostname.empty())
        c.server.hostname = default_hostname();
}

void read_listeners(section& root, config& c, const std::string& file) {
    for (const auto* t : table_array(root, "listener")) {
        section s(*t, "listener");
        listener l;
        auto addr = s.required_string("address");
        auto ep = parse_endpoint(addr, true);
        if (!ep)
            fail(
                s.node("address")->source(), fmt::format(
                                                 "listener.address \"{}\" must be IP:PORT, such as "
                                                 "\"127.0.0.1:587\" or \"[::1]:587\"",
                                                 addr
                                             )
            );
        l.address = *ep;
        if (auto v = s.choice("tls", {"none", "starttls", "implicit"}))
            l.tls = *v == "none"       ? tls_mode::none
                    : *v == "starttls" ? tls_mode::starttls
                                       : tls_mode::implicit;
        if (auto v = s.choice("auth", {"none", "optional", "required"}))
            l.auth = *v == "none"       ? auth_policy::none
                     : *v == "optional" ? auth_policy::optional
                                        : auth_policy::required;
        if (auto v = s.choice("priority", {"high", "normal", "low"}))
            l.priority = *v;
        l.where = s.where("address", file);
        s.finish();
        for (const auto& other : c.listeners)
            if (other.address.host == l.address.host && other.address.port == l.address.port)
                fail(
                    s.node("address")->source(),
                    fmt::format("listener.address \"{}\" is used twice", addr)
                );
        c.listeners.push_back(l);
    }
}

void read_tls(section& root, config& c, const std::string& file) {
    auto* n = root.node("tls");
    if (!n)
        return;
    section s(as_table(*n, "tls"), "tls");
    tls_section t;
    t.certificate = s.required_string("certificate");
    check_file(*s.node("certificate"), t.certificate, "tls.certificate", false);
    t.private_key = s.required_string("private_key");
    check_file(*s.node("private_key"), t.private_key, "tls.private_key", true);
    if (auto v = s.choice("min_version", {"1.2", "1.3"}))
        t.min_version = *v;
    t.where = s.where("certificate", file);
    s.finish();
    c.tls = t;
}

void read_relay(section& root, config& c) {
    auto* n = root.node("relay");
    if (!n)
        return;
    section s(as_table(*n, "relay"), "relay");
    if (auto* a = s.array("allowed_networks")) {
        for (const auto& e : *a) {
            if (!e.is_string())
                fail(e.source(), "relay.allowed_networks must contain only strings");
            auto net = parse_network(e.as_string()->get());
            if (!net)
                fail(
                    e.source(), fmt::format(
                                    "relay.allowed_networks: \"{}\" is not an address or CIDR "
                                    "network such as \"10.0.0.0/8\"",
                                    e.as_string()->get()
                                )
                );
            c.relay.allowed_networks.push_back(*net);
        }
    }
    s.finish();
}

void read_auth(section& root, config& c, const std::string& file) {
    auto* n = root.node("auth");
    if (!n)
        return;
    section s(as_table(*n, "auth"), "auth");
    if (auto v = s.string("users_file")) {
        c.auth.users_file = *v;
        c.auth.users_file_where = s.where("users_file", file);

        // The users file may not exist yet (outpostctl user add creates it), but if it does it must
        // be private.
        struct stat st {};

        if (::stat(v->c_str(), &st) == 0)
            check_file(*s.node("users_file"), *v, "auth.users_file", true);
    }
    s.unsigned_value("max_failures", c.auth.max_failures, 1, 1000);
    s.duration_into("failure_window", c.auth.failure_window);
    s.finish();
}

void read_limits(section& root, config& c) {
    auto* n = root.node("limits");
    if (!n)
        return;
    section s(as_table(*n, "limits"), "limits");
    auto& l = c.limits;
    if (auto v = s.size_value("max_message_size")) {
        if (*v < 1024)
            fail(
                s.node("max_message_size")->source(), "limits.max_message_size must be at least 1KB"
            );
        l.max_message_size = *v;
    }
    s.unsigned_value("max_recipients", l.max_recipients, 1, 100000);
    s.unsigned_value("max_line_length", l.max_line_length, 78, 1'000'000);
    s.unsigned_value("max_command_length", l.max_command_length, 512, 65536);
    s.unsigned_value("max_connections", l.max_connections, 1, 1'000'000);
    s.unsigned_value("max_connections_per_client", l.max_connections_per_client, 1, 1'000'000);
    s.unsigned_value("max_errors", l.max_errors, 1, 1000);
    s.unsigned_value("max_commands", l.max_commands, 10, 100'000'000);
    s.unsigned_value("max_junk_commands", l.max_junk_commands, 0, 1'000'000);
    s.duration_into("command_timeout", l.command_timeout);
    s.duration_into("session_timeout", l.session_timeout);
    s.duration_into("data_timeout", l.data_timeout);
    s.finish();
}

void read_log(section& root, config& c) {
    auto* n = root.node("log");
    if (!n)
        return;
    section s(as_table(*n, "log"), "log");
    if (auto v = s.choice("level", {"debug", "info", "warn", "error"}))
        c.log.level = *v == "debug"  ? log_level::debug
                      : *v == "info" ? log_level::info
                      : *v == "warn" ? log_level::warn
                                     : log_level::error;
    if (auto v = s.choice("format", {"logfmt", "json"}))
        c.log.format = *v == "json" ? log_format::json : log_format::logfmt;
    s.finish();
}

void read_dkim(section& root, config& c, const std::string& file) {
    // [[dkim]] entries are keys; the [dkim_signing] table holds what applies to all of them.
    for (const auto* t : table_array(root, "dkim")) {
        section s(*t, "dkim");
        dkim_key k;
        k.domain = domain_value(s, "domain", true);
        k.selector = s.required_string("selector");
        if (!valid_domain(k.selector))
            fail(
                s.node("selector")->source(),
                fmt::format("dkim.selector \"{}\" is not a valid DNS label", k.selector)
            );
        if (auto v = s.choice("algorithm", {"rsa-sha256", "ed25519-sha256"}))
            k.algorithm = *v;
        k.private_key = s.required_string("private_key");
        check_file(*s.node("private_key"), k.private_key, "dkim.private_key", true);
        if (auto v = s.boolean("sign_subdomains"))
            k.sign_subdomains = *v;
        if (auto v = s.boolean("sign"))
            k.sign = *v;
        k.where = s.where("domain", file);
        k.private_key_where = s.where("private_key", file);
        s.finish();
        c.dkim_keys.push_back(k);
    }
    if (auto* n = root.node("dkim_signing")) {
        section s(as_table(*n, "dkim_signing"), "dkim_signing");
        for (auto& h : s.string_array("headers"))
            c.dkim.headers.push_back(util::to_lower(h));
        for (auto& h : s.string_array("oversign"))
            c.dkim.oversign.push_back(util::to_lower(h));
        s.duration_into("expiration", c.dkim.expiration);
        if (auto v = s.boolean("reject_unsignable"))
            c.dkim.reject_unsignable = *v;
        s.finish();
    }
}

void read_arc(section& root, config& c, const std::string& file) {
    auto* n = root.node("arc");
    if (!n)
        return;
    section s(as_table(*n, "arc"), "arc");
    auto& a = c.arc;
    a.enabled = s.boolean("enabled").value_or(true);
    a.authserv_id = s.string("authserv_id").value_or(c.server.hostname);
    a.domain = domain_value(s, "domain", true);
    a.selector = s.required_string("selector");
    if (auto v = s.choice("algorithm", {"rsa-sha256", "ed25519-sha256"}))
        a.algorithm = *v;
    a.private_key = s.required_string("private_key");
    check_file(*s.node("private_key"), a.private_key, "arc.private_key", true);
    a.where = s.where("domain", file);
    a.private_key_where = s.where("private_key", file);
    s.finish();
}

void read_delivery(section& root, config& c) {
    auto* n = root.node("delivery");
    if (!n)
        return;
    section s(as_table(*n, "delivery"), "delivery");
    auto& d = c.delivery;
    if (auto* a = s.array("retry")) {
        d.retry.clear();
        for (const auto& e : *a)
            d.retry.push_back(section::parse_duration_node(e, "delivery.retry"));
        if (d.retry.empty())
            fail(a->source(), "delivery.retry needs at least one interval");
    }
    s.duration_into("max_lifetime", d.max_lifetime);
    if (auto v = s.integer("port", 1, 65535))
        d.port = static_cast<std::uint16_t>(*v);
    if (auto* a = s.array("dns_servers")) {
        for (const auto& e : *a) {
            if (!e.is_string())
                fail(e.source(), "delivery.dns_servers must contain only strings");
            auto text = e.as_string()->get();
            auto ep = parse_endpoint(text, true);
            if (!ep) {
                // A bare address means port 53.
                if (auto ip = parse_ip(text))
                    ep = endpoint{ip->to_string(), 53};
                else
                    fail(
                        e.source(),
                        fmt::format("delivery.dns_servers: \"{}\" must be IP or IP:PORT", text)
                    );
            }
            d.dns_servers.push_back(*ep);
        }
    }
    if (auto v = s.choice("tls", {"none", "opportunistic", "required", "verify"}))
        d.tls = *v;
    if (auto v = s.boolean("mta_sts"))
        d.mta_sts = *v;
    if (auto v = s.boolean("dane"))
        d.dane = *v;
    if (auto v = s.string("tls_ca_file")) {
        check_file(*s.node("tls_ca_file"), *v, "delivery.tls_ca_file", false);
        d.tls_ca_file = *v;
    }
    s.unsigned_value("max_messages_per_connection", d.max_messages_per_connection, 1, 100000);
    if (auto v = s.duration_value("idle_connection_time")) {
        if (*v > std::chrono::minutes(1))
            fail(
                s.node("idle_connection_time")->source(),
                "delivery.idle_connection_time must be at most 1m (receivers drop idle sessions)"
            );
        d.idle_connection_time = *v;
    }
    s.unsigned_value("max_connections", d.max_connections, 1, 100000);
    s.unsigned_value("max_connections_per_destination", d.max_connections_per_destination, 1, 1000);
    s.deadline_into("connect_timeout", d.connect_timeout);
    s.deadline_into("command_timeout", d.command_timeout);
    s.deadline_into("tls_handshake_timeout", d.tls_handshake_timeout);
    s.deadline_into("data_start_timeout", d.data_start_timeout);
    s.deadline_into("data_write_timeout", d.data_write_timeout);
    s.deadline_into("data_end_timeout", d.data_end_timeout);
    if (auto v = s.string("priority_header")) {
        for (char ch : *v)
            if (ch <= ' ' || ch == ':' || ch > '~')
                fail(
                    s.node("priority_header")->source(),
                    fmt::format("delivery.priority_header \"{}\" is not a header field name", *v)
                );
        d.priority_header = *v;
    }
    s.finish();
}

void read_routes(section& root, config& c, const std::string& file) {
    for (const auto* t : table_array(root, "route")) {
        section s(*t, "route");
        route r;
        r.domains = s.string_array("domains");
        if (r.domains.empty())
            fail(t->source(), "route.domains needs at least one domain or \"*\"");
        for (auto& d : r.domains)
            d = util::to_lower(d);
        auto hop = s.required_string("next_hop");
        auto ep = parse_endpoint(hop, false);
        if (!ep)
            fail(
                s.node("next_hop")->source(),
                fmt::format("route.next_hop \"{}\" must be HOST:PORT", hop)
            );
        r.next_hop = *ep;
        r.where = s.where("next_hop", file);
        // "may" is Postfix's name for opportunistic (smtp_tls_security_level).
        r.tls =
            s.choice("tls", {"none", "may", "opportunistic", "required", "verify"}).value_or("");
        if (r.tls == "may")
            r.tls = "opportunistic";
        s.finish();
        c.routes.push_back(r);
    }
    for (const auto* t : table_array(root, "domain")) {
        section s(*t, "domain");
        domain_policy p;
        p.domain = domain_value(s, "name", true);
        p.tls = s.choice("tls", {"none", "opportunistic", "required", "verify", "dane"})
                    .value_or(c.delivery.tls);
        s.finish();
        c.domains.push_back(p);
    }
}

// A warming schedule's caps: at least one, and never lower than the day before (a schedule that
// falls is a typo more often than a plan; a warm IP that must send less wants a throttle).
std::vector<std::uint64_t> daily_caps(section& s, std::string_view key) {
    std::vector<std::uint64_t> out;
    if (auto* a = s.array(key)) {
        if (a->empty())
            fail(s.node(key)->source(), fmt::format("{} must list at least one day", s.full(key)));
        for (const auto& e : *a) {
            if (!e.is_integer() || e.as_integer()->get() < 0)
                fail(
                    e.source(),
                    fmt::format("{} must contain only non-negative integers", s.full(key))
                );
            auto cap = static_cast<std::uint64_t>(e.as_integer()->get());
            if (!out.empty() && cap < out.back())
                fail(
                    e.source(), fmt::format(
                                    "{}: day {} ({}) is lower than day {} ({}); caps must not "
                                    "decrease",
                                    s.full(key), out.size() + 1, cap, out.size(), out.back()
                                )
                );
            out.push_back(cap);
        }
    }
    return out;
}

// The shaping grammars (rates, dates, UTC offsets, host patterns) are also parsed by
// core/shaping, which builds on this library; these checks only decide whether a value is valid,
// so that a bad one is reported at its FILE:LINE:COL when the config is loaded.
std::optional<unsigned> small_number(std::string_view s) {
    if (s.empty() || s.size() > 9)
        return std::nullopt;
    unsigned v = 0;
    for (char ch : s) {
        if (ch < '0' || ch > '9')
            return std::nullopt;
        v = v * 10 + static_cast<unsigned>(ch - '0');
    }
    return v;
}

bool valid_rate(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return false;
    auto trim = [](std::string_view v) {
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
            v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
            v.remove_suffix(1);
        return v;
    };
    auto count = trim(text.substr(0, slash));
    if (count.size() > 12 || count.find_first_not_of("0123456789") != std::string_view::npos ||
        count.find_first_not_of('0') == std::string_view::npos)
        return false;
    auto unit = util::to_lower(trim(text.substr(slash + 1)));
    for (std::string_view u : {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"})
        if (unit == u)
            return true;
    return false;
}

bool valid_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-')
        return false;
    auto y = small_number(text.substr(0, 4));
    auto m = small_number(text.substr(5, 2));
    auto d = small_number(text.substr(8, 2));
    return y && m && d &&
           std::chrono::year_month_day{
               std::chrono::year{static_cast<int>(*y)}, std::chrono::month{*m},
               std::chrono::day{*d}}
               .ok();
}

bool valid_utc_offset(std::string_view text) {
    if (text == "UTC" || text == "utc" || text == "Z" || text == "GMT")
        return true;
    if (text.size() < 3 || (text[0] != '+' && text[0] != '-'))
        return false;
    auto rest = text.substr(1);
    std::optional<unsigned> h, m;
    if (rest.size() == 5 && rest[2] == ':') {
        h = small_number(rest.substr(0, 2));
        m = small_number(rest.substr(3, 2));
    } else if (rest.size() == 4) {
        h = small_number(rest.substr(0, 2));
        m = small_number(rest.substr(2, 2));
    } else if (rest.size() == 2) {
        h = small_number(rest);
        m = 0;
    }
    return h && m && *m < 60 && *h * 60 + *m <= 14 * 60;
}

bool valid_host_pattern(std::string_view p) {
    if (p.starts_with("*."))
        p.remove_prefix(2);
    if (!p.empty() && p.back() == '.')
        p.remove_suffix(1);
    return !p.empty() && valid_domain(p);
}

double rate_fraction(section& s, std::string_view key, double fallback) {
    auto* n = s.node(key);
    if (!n)
        return fallback;
    double v = -1;
    if (n->is_integer())
        v = static_cast<double>(n->as_integer()->get());
    else if (n->is_floating_point())
        v = n->as_floating_point()->get();
    else
        fail(
            n->source(), fmt::format("{} must be a number, not {}", s.full(key), node_type_name(*n))
        );
    if (!(v >= 0 && v <= 1))
        fail(
            n->source(),
            fmt::format("{} must be a fraction between 0 and 1 (0.05 = 5%)", s.full(key))
        );
    return v;
}

void check_rate(section& s, const std::string& text) {
    if (!text.empty() && !valid_rate(text))
        fail(
            s.node("rate")->source(),
            fmt::format(
                "{} \"{}\" must be COUNT/UNIT such as \"60/min\", \"5/s\" or \"1000/h\"",
                s.full("rate"), text
            )
        );
}

void read_shaping(section& root, config& c, const std::string& file) {
    for (const auto* t : table_array(root, "source_ip")) {
        section s(*t, "source_ip");
        source_ip ip;
        auto text = s.required_string("address");
        auto a = parse_ip(text);
        if (!a)
            fail(
                s.node("address")->source(),
                fmt::format("source_ip.address \"{}\" is not an IP address", text)
            );
        ip.address = *a;
        ip.ehlo = domain_value(s, "ehlo", false);
        if (ip.ehlo.empty())
            ip.ehlo = c.server.hostname;
        ip.warming = s.string("warming").value_or("");
        ip.warming_start = s.string("warming_start").value_or("");
        if (!ip.warming_start.empty() && !valid_date(ip.warming_start))
            fail(
                s.node("warming_start")->source(),
                fmt::format(
                    "source_ip.warming_start \"{}\" must be a date such as \"2026-11-20\"",
                    ip.warming_start
                )
            );
        if (!ip.warming.empty() && ip.warming_start.empty())
            fail(
                s.node("warming")->source(),
                "source_ip.warming needs warming_start, the date of the schedule's first day"
            );
        ip.where = s.where("address", file);
        for (const auto& earlier : c.source_ips)
            if (earlier.address == ip.address)
                fail(
                    s.node("address")->source(),
                    fmt::format(
                        "source_ip.address {} is listed twice (first at line {})", text,
                        earlier.where.line
                    )
                );
        s.finish();
        c.source_ips.push_back(ip);
    }
    if (auto* n = root.node("warming")) {
        const auto& all = as_table(*n, "warming");
        for (auto&& [name, node] : all) {
            std::string full = fmt::format("warming.{}", name.str());
            section s(as_table(node, full), full);
            warming_schedule w;
            w.daily = daily_caps(s, "daily");
            if (auto* p = s.node("provider")) {
                for (auto&& [pname, pnode] : as_table(*p, full + ".provider")) {
                    section ps(
                        as_table(pnode, full + ".provider." + std::string(pname.str())),
                        full + ".provider." + std::string(pname.str())
                    );
                    w.provider[std::string(pname.str())] = daily_caps(ps, "daily");
                    ps.finish();
                }
            }
            w.where = position{file, node.source().begin.line, node.source().begin.column};
            if (auto v = s.integer("ceiling", 0, std::numeric_limits<std::int64_t>::max()))
                w.ceiling = static_cast<std::uint64_t>(*v);
            if (auto v = s.string("time_zone")) {
                if (!valid_utc_offset(*v))
                    fail(
                        s.node("time_zone")->source(),
                        fmt::format(
                            "{}.time_zone \"{}\" must be \"UTC\" or a fixed offset such as "
                            "\"+01:00\" (named zones are not supported)",
                            full, *v
                        )
                    );
                w.time_zone = *v;
            }
            if (auto v = s.boolean("pace"))
                w.pace = *v;
            w.max_deferral_rate = rate_fraction(s, "max_deferral_rate", w.max_deferral_rate);
            w.max_bounce_rate = rate_fraction(s, "max_bounce_rate", w.max_bounce_rate);
            w.max_complaint_rate = rate_fraction(s, "max_complaint_rate", w.max_complaint_rate);
            w.min_dmarc_pass_rate = rate_fraction(s, "min_dmarc_pass_rate", w.min_dmarc_pass_rate);
            if (auto v = s.choice("on_unhealthy", {"hold", "step_back"}))
                w.on_unhealthy = *v;
            if (auto* a = s.array("overflow")) {
                for (const auto& e : *a) {
                    if (!e.is_string() || !parse_ip(e.as_string()->get()))
                        fail(
                            e.source(),
                            fmt::format("{}.overflow must list source IP addresses", full)
                        );
                    auto addr = *parse_ip(e.as_string()->get());
                    bool pooled = false;
                    for (const auto& ip : c.source_ips)
                        pooled = pooled || (ip.address == addr && ip.warming.empty());
                    if (!pooled)
                        fail(
                            e.source(),
                            fmt::format(
                                "{}.overflow names {}, which is no [[source_ip]] without a "
                                "warming schedule",
                                full, addr.to_string()
                            )
                        );
                    w.overflow.push_back(addr.to_string());
                }
            }
            s.finish();
            c.warming[std::string(name.str())] = w;
        }
    }
    for (const auto* t : table_array(root, "provider")) {
        section s(*t, "provider");
        provider p;
        p.name = s.required_string("name");
        p.mx = s.string_array("mx");
        p.domains = s.string_array("domains");
        p.rate = s.string("rate").value_or("");
        check_rate(s, p.rate);
        for (const auto& m : p.mx)
            if (!valid_host_pattern(m))
                fail(
                    s.node("mx")->source(),
                    fmt::format(
                        "provider.mx \"{}\" must be a host name or a pattern such as "
                        "\"*.google.com\"",
                        m
                    )
                );
        for (const auto& d : p.domains)
            if (!valid_host_pattern(d))
                fail(
                    s.node("domains")->source(),
                    fmt::format("provider.domains \"{}\" is not a domain or pattern", d)
                );
        for (const auto& other : c.providers)
            if (other.name == p.name)
                fail(
                    s.node("name")->source(),
                    fmt::format("provider.name \"{}\" is used twice", p.name)
                );
        s.unsigned_value("max_connections", p.max_connections, 0, 100000);
        s.unsigned_value("max_messages_per_connection", p.max_messages_per_connection, 0, 100000);
        p.where = s.where("name", file);
        s.finish();
        c.providers.push_back(p);
    }
    for (const auto* t : table_array(root, "throttle")) {
        section s(*t, "throttle");
        throttle th;
        th.domain = s.required_string("domain");
        th.rate = s.string("rate").value_or("");
        check_rate(s, th.rate);
        s.unsigned_value("max_connections", th.max_connections, 0, 100000);
        s.unsigned_value("max_messages_per_connection", th.max_messages_per_connection, 0, 100000);
        th.where = s.where("domain", file);
        s.finish();
        c.throttles.push_back(th);
    }
    // An override for a provider that no [[provider]] defines would never apply: a typo.
    for (const auto& [name, w] : c.warming) {
        for (const auto& [pname, caps] : w.provider) {
            bool known = pname == "default";
            for (const auto& p : c.providers)
                known = known || p.name == pname;
            if (!known)
                throw config_error{
                    toml::source_region{
                        {w.where.line, w.where.column}, {w.where.line, w.where.column}, nullptr},
                    fmt::format(
                        "warming.{}.provider.{} names no [[provider]] (define one with name = "
                        "\"{}\")",
                        name, pname, pname
                    )};
        }
    }
    for (const auto& ip : c.source_ips) {
        if (!ip.warming.empty() && !c.warming.count(ip.warming))
            throw config_error{
                toml::source_region{
                    {ip.where.line, ip.where.column}, {ip.where.line, ip.where.column}, nullptr},
                fmt::format(
                    "source_ip.warming names \"{}\", but there is no [warming.{}]", ip.warming,
                    ip.warming
                )};
    }
}

void read_bounce_admin(section& root, config& c) {
    if (auto* n = root.node("bounce")) {
        section s(as_table(*n, "bounce"), "bounce");
        c.bounce.domain = domain_value(s, "domain", false);
        if (auto v = s.string("secret"))
            c.bounce.secret = *v;
        s.unsigned_value("soft_bounce_limit", c.bounce.soft_bounce_limit, 1, 1000);
        s.duration_into("soft_bounce_window", c.bounce.soft_bounce_window);
        s.duration_into("soft_suppression_ttl", c.bounce.soft_suppression_ttl);
        if (auto v = s.choice("suppressed_recipient", {"reject", "drop"}))
            c.bounce.suppressed_recipient = *v;
        s.finish();
    }
    if (auto* n = root.node("admin")) {
        section s(as_table(*n, "admin"), "admin");
        if (auto v = s.string("address")) {
            if (!(v->starts_with('/') || parse_endpoint(*v, true)))
                fail(
                    s.node("address")->source(),
                    fmt::format(
                        "admin.address \"{}\" must be IP:PORT or an absolute socket path", *v
                    )
                );
            c.admin.address = *v;
            c.admin.address_configured = true;
        }
        if (auto v = s.string("token"))
            c.admin.token = *v;
        // Nothing on the admin endpoint is reachable without the operator's consent: loopback,
        // a unix socket (file permissions), or a token.
        if (!c.admin.address.starts_with('/') && c.admin.token.empty()) {
            auto ep = parse_endpoint(c.admin.address, true);
            auto ip = ep ? parse_ip(ep->host) : std::nullopt;
            if (ip && !ip->is_loopback())
                fail(
                    s.node("address")->source(),
                    fmt::format(
                        "admin.address \"{}\" is not loopback: set admin.token, or listen on "
                        "127.0.0.1, [::1] or a unix socket",
                        c.admin.address
                    )
                );
        }
        s.finish();
    }
}

// [shaping] slowdown_table: the file is read here so that a reload sees its new contents and a
// missing file is a FILE:LINE:COL error; its rows are checked by outpostd (core/shaping parses
// them) before the config applies.
void read_shaping_section(section& root, config& c, const std::string& file) {
    auto* n = root.node("shaping");
    if (!n)
        return;
    section s(as_table(*n, "shaping"), "shaping");
    if (auto v = s.string("slowdown_table")) {
        if (v->empty() || v->front() != '/')
            fail(
                s.node("slowdown_table")->source(),
                "shaping.slowdown_table must be an absolute path"
            );
        std::ifstream in(*v, std::ios::binary);
        if (!in)
            fail(
                s.node("slowdown_table")->source(),
                fmt::format("shaping.slowdown_table \"{}\" cannot be read", *v)
            );
        std::stringstream text;
        text << in.rdbuf();
        c.shaping.slowdown_table = *v;
        c.shaping.slowdown_text = text.str();
        c.shaping.where = s.where("slowdown_table", file);
    }
    s.finish();
}

void read_tls_report(section& root, config& c) {
    auto* n = root.node("tls_report");
    if (!n)
        return;
    section s(as_table(*n, "tls_report"), "tls_report");
    if (auto v = s.string("organization"))
        c.tls_report.organization = *v;
    if (auto v = s.string("contact"))
        c.tls_report.contact = *v;
    s.finish();
}

void read_cluster(section& root, config& c, const std::string& file) {
    auto* n = root.node("cluster");
    if (!n)
        return;
    section s(as_table(*n, "cluster"), "cluster");
    cluster_section k;
    k.redis = s.required_string("redis");
    k.where = s.where("redis", file);
    auto parsed = parse_redis_url(k.redis);
    if (!parsed.address)
        fail(
            s.node("redis")->source(),
            fmt::format("cluster.redis \"{}\": {}", redact_redis_url(k.redis), parsed.error)
        );
    k.host = parsed.address->host;
    k.port = parsed.address->port;
    k.socket_path = parsed.address->socket_path;
    k.database = parsed.address->database;
    k.username = parsed.address->username;
    k.password = parsed.address->password;
    if (auto v = s.string("password_file")) {
        if (v->empty() || v->front() != '/')
            fail(
                s.node("password_file")->source(), "cluster.password_file must be an absolute path"
            );
        std::ifstream in(*v, std::ios::binary);
        if (!in)
            fail(
                s.node("password_file")->source(),
                fmt::format("cluster.password_file \"{}\" cannot be read", *v)
            );
        std::getline(in, k.password);
        if (!k.password.empty() && k.password.back() == '\r')
            k.password.pop_back();
        if (k.password.empty())
            fail(
                s.node("password_file")->source(),
                fmt::format("cluster.password_file \"{}\" is empty", *v)
            );
        k.password_file = *v;
    }
    if (auto v = s.string("key_prefix")) {
        // Letters, digits and : _ . - only: the prefix goes into SCAN patterns unescaped.
        if (v->empty() ||
            v->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789:_.-") != std::string::npos)
            fail(
                s.node("key_prefix")->source(),
                "cluster.key_prefix must be non-empty letters, digits and : _ . - only"
            );
        k.key_prefix = *v;
    }
    if (auto v = s.duration_value("timeout")) {
        if (*v < std::chrono::milliseconds(10) || *v > std::chrono::seconds(60))
            fail(s.node("timeout")->source(), "cluster.timeout must be between 10ms and 60s");
        k.timeout = *v;
    }
    if (auto v = s.string("node")) {
        if (v->empty() || v->find_first_of(" \t\r\n") != std::string::npos)
            fail(
                s.node("node")->source(), "cluster.node must be non-empty and without white space"
            );
        k.node = *v;
    }
    // The host's own name, not server.hostname: nodes behind one submission name often share
    // that, and two nodes with one name would take each other's changes for their own.
    if (k.node.empty())
        k.node = default_hostname();
    s.finish();
    c.cluster = std::move(k);
}

// What the event log records, in the words events and [[webhook]] events = [...] use.
constexpr std::string_view event_kinds[] = {
    "accepted", "delivered", "deferred", "bounced", "expired", "suppressed", "complaint",
};

void read_events(section& root, config& c, const std::string& file) {
    if (auto* n = root.node("events")) {
        section s(as_table(*n, "events"), "events");
        if (auto v = s.boolean("enabled"))
            c.events.enabled = *v;
        if (auto v = s.duration_value("retention")) {
            if (*v < std::chrono::hours(1))
                fail(s.node("retention")->source(), "events.retention must be at least 1h");
            c.events.retention = *v;
        }
        if (auto v = s.string("tag_header")) {
            if (v->empty() || v->find_first_of(" :\t\r\n") != std::string::npos)
                fail(s.node("tag_header")->source(), "events.tag_header must be a header name");
            c.events.tag_header = *v;
        }
        s.finish();
    }
    std::set<std::string> names;
    for (const auto* t : table_array(root, "webhook")) {
        section s(*t, "webhook");
        webhook w;
        w.url = s.required_string("url");
        w.where = s.where("url", file);
        auto parsed = parse_http_url(w.url);
        if (!parsed.address)
            fail(
                s.node("url")->source(), fmt::format("webhook.url \"{}\" {}", w.url, parsed.error)
            );
        w.name = s.string("name").value_or(parsed.address->host);
        if (w.name.empty() ||
            w.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789_.-") != std::string::npos)
            fail(
                s.node("name") ? s.node("name")->source() : s.node("url")->source(),
                fmt::format(
                    "webhook.name \"{}\" must be letters, digits and _ . - only (it names a file)",
                    w.name
                )
            );
        if (!names.insert(w.name).second)
            fail(
                s.node("name") ? s.node("name")->source() : s.node("url")->source(),
                fmt::format("a second [[webhook]] named \"{}\": give each a name", w.name)
            );
        w.secret_file = s.required_string("secret_file");
        if (w.secret_file.front() != '/')
            fail(s.node("secret_file")->source(), "webhook.secret_file must be an absolute path");
        check_file(*s.node("secret_file"), w.secret_file, "webhook.secret_file", true);
        {
            std::ifstream in(w.secret_file, std::ios::binary);
            std::getline(in, w.secret);
            if (!w.secret.empty() && w.secret.back() == '\r')
                w.secret.pop_back();
            if (w.secret.size() < 16)
                fail(
                    s.node("secret_file")->source(),
                    fmt::format(
                        "webhook.secret_file \"{}\": the secret's first line must have at least "
                        "16 characters",
                        w.secret_file
                    )
                );
        }
        if (auto* a = s.node("events")) {
            for (const auto& kind : s.string_array("events")) {
                if (std::find(std::begin(event_kinds), std::end(event_kinds), kind) ==
                    std::end(event_kinds))
                    fail(
                        a->source(),
                        fmt::format(
                            "webhook.events: unknown event \"{}\" (known: accepted, delivered, "
                            "deferred, bounced, expired, suppressed, complaint)",
                            kind
                        )
                    );
                w.events.push_back(kind);
            }
        }
        s.unsigned_value("batch_size", w.batch_size, 1, 1000);
        if (auto v = s.duration_value("timeout")) {
            if (*v < std::chrono::seconds(1) || *v > std::chrono::minutes(5))
                fail(s.node("timeout")->source(), "webhook.timeout must be between 1s and 5m");
            w.timeout = *v;
        }
        if (auto v = s.string("tls_ca_file")) {
            check_file(*s.node("tls_ca_file"), *v, "webhook.tls_ca_file", false);
            w.tls_ca_file = *v;
        }
        s.finish();
        c.webhooks.push_back(std::move(w));
    }
    if (!c.webhooks.empty() && !c.events.enabled)
        fail(
            root.node("events")->source(),
            "events.enabled = false, but [[webhook]] sends events: remove one or the other"
        );
}

void read_dmarc(section& root, config& c) {
    auto* n = root.node("dmarc");
    if (!n)
        return;
    section s(as_table(*n, "dmarc"), "dmarc");
    auto address = s.required_string("report_address");
    auto at = address.rfind('@');
    if (at == std::string::npos || at == 0 || !valid_domain(address.substr(at + 1)) ||
        address.find_first_of(" <>\"\\,;") != std::string::npos)
        fail(
            s.node("report_address")->source(),
            fmt::format("dmarc.report_address \"{}\" is not an address", address)
        );
    c.dmarc.report_address = util::to_lower(address);
    if (auto* a = s.array("own_networks"))
        for (const auto& e : *a) {
            auto net = e.is_string() ? parse_network(e.as_string()->get()) : std::nullopt;
            if (!net)
                fail(
                    e.source(),
                    "dmarc.own_networks must contain addresses or CIDR networks such as "
                    "\"203.0.113.0/24\""
                );
            c.dmarc.own_networks.push_back(*net);
        }
    s.finish();
}

config read_all(const toml::table& doc, const std::string& file) {
    config c;
    c.path = file;
    section root(doc, "");
    read_server(root, c);
    read_listeners(root, c, file);
    read_tls(root, c, file);
    read_relay(root, c);
    read_auth(root, c, file);
    read_limits(root, c);
    read_log(root, c);
    read_dkim(root, c, file);
    read_arc(root, c, file);
    read_delivery(root, c);
    read_routes(root, c, file);
    read_shaping(root, c, file);
    read_shaping_section(root, c, file);
    read_bounce_admin(root, c);
    read_tls_report(root, c);
    read_cluster(root, c, file);
    read_events(root, c, file);
    read_dmarc(root, c);
    root.finish();

    for (const auto& l : c.listeners) {
        if (l.tls != tls_mode::none && !c.tls)
            throw config_error{
                toml::source_region{
                    {l.where.line, l.where.column}, {l.where.line, l.where.column}, nullptr},
                "this listener uses TLS, so a [tls] section with certificate and private_key is "
                "required"};
    }
    return c;
}

std::variant<config, load_error> run(
    const std::function<toml::table()>& parse, const std::string& file
) {
    try {
        auto doc = parse();
        return read_all(doc, file);
    } catch (const toml::parse_error& e) {
        const auto& b = e.source().begin;
        return load_error{fmt::format("{}:{}:{}: {}", file, b.line, b.column, e.description())};
    } catch (const config_error& e) {
        return load_error{
            fmt::format("{}:{}:{}: {}", file, e.where.begin.line, e.where.begin.column, e.what)};
    }
}

}  // namespace

std::string position::text() const {
    return fmt::format("{}:{}:{}", file, line, column);
}

std::string endpoint::text() const {
    if (host.find(':') != std::string::npos)
        return fmt::format("[{}]:{}", host, port);
    return fmt::format("{}:{}", host, port);
}

bool network::contains(const boost::asio::ip::address& a) const {
    auto to_v6_bytes = [](const boost::asio::ip::address& x) {
        return x.is_v4() ? boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, x.to_v4())
                               .to_bytes()
                         : x.to_v6().to_bytes();
    };
    auto addr = a;
    // An IPv4 client on a dual-stack socket appears as ::ffff:a.b.c.d.
    if (addr.is_v6() && addr.to_v6().is_v4_mapped() && base.is_v4())
        addr = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6());
    if (addr.is_v4() != base.is_v4())
        return false;
    auto x = to_v6_bytes(addr);
    auto y = to_v6_bytes(base);
    unsigned bits = prefix_length + (base.is_v4() ? 96u : 0u);
    for (unsigned i = 0; i < 16 && bits > 0; ++i) {
        unsigned take = bits >= 8 ? 8 : bits;
        auto mask = static_cast<unsigned char>(0xff << (8 - take));
        if ((x[i] & mask) != (y[i] & mask))
            return false;
        bits -= take;
    }
    return true;
}

std::string network::text() const {
    return fmt::format("{}/{}", base.to_string(), prefix_length);
}

std::variant<config, load_error> load(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        return load_error{fmt::format("{}:1:1: cannot read the file", path)};
    std::stringstream ss;
    ss << in.rdbuf();
    return load_string(ss.str(), path);
}

std::variant<config, load_error> load_string(const std::string& text, const std::string& file) {
    return run([&] { return toml::parse(text, file); }, file);
}

const route* route_for(const config& cfg, std::string_view domain) {
    for (const auto& r : cfg.routes)
        for (const auto& d : r.domains)
            if (d == "*" || util::iequals(d, domain))
                return &r;
    return nullptr;
}

}  // namespace outpost::config
