#include "config/load.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>

#include <doctest/doctest.h>
#include <stdlib.h>

#include "tests/support/config_text.hpp"

using namespace outpost::config;

using outpost::test::config_error_of;
using outpost::test::config_from;

TEST_CASE("an empty file gives the documented defaults") {
    auto c = config_from("");
    CHECK(c.server.spool_dir == "/var/lib/outpost");  // outpost.service's StateDirectory
    CHECK(c.limits.max_message_size == 25u << 20);
    CHECK(c.delivery.port == 25);
    CHECK(c.delivery.retry.size() == 6);
    CHECK(c.listeners.empty());
    CHECK_FALSE(c.server.hostname.empty());
}

TEST_CASE("listeners, relay networks and limits are read") {
    auto c = config_from(R"(
[server]
hostname = "MTA1.Example.com"
spool_dir = "/tmp/spool"

[[listener]]
address = "127.0.0.1:2525"
tls = "none"
auth = "none"

[[listener]]
address = "[::1]:2587"
auth = "required"

[relay]
allowed_networks = ["127.0.0.0/8", "10.1.0.0/16", "::1"]

[limits]
max_message_size = "10MB"
max_recipients = 50
command_timeout = "2s"
)");
    CHECK(c.server.hostname == "mta1.example.com");
    REQUIRE(c.listeners.size() == 2);
    CHECK(c.listeners[0].address.port == 2525);
    CHECK(c.listeners[0].auth == auth_policy::none);
    CHECK(c.listeners[1].address.host == "::1");
    CHECK(c.listeners[1].address.text() == "[::1]:2587");
    CHECK(c.listeners[1].auth == auth_policy::required);
    REQUIRE(c.relay.allowed_networks.size() == 3);
    auto ip = [](const char* s) { return boost::asio::ip::make_address(s); };
    CHECK(c.relay.allowed_networks[0].contains(ip("127.0.0.1")));
    CHECK(c.relay.allowed_networks[0].contains(ip("::ffff:127.9.9.9")));
    CHECK_FALSE(c.relay.allowed_networks[0].contains(ip("128.0.0.1")));
    CHECK(c.relay.allowed_networks[1].contains(ip("10.1.255.3")));
    CHECK_FALSE(c.relay.allowed_networks[1].contains(ip("10.2.0.1")));
    CHECK(c.relay.allowed_networks[2].contains(ip("::1")));
    CHECK_FALSE(c.relay.allowed_networks[2].contains(ip("::2")));
    CHECK(c.limits.max_message_size == 10u << 20);
    CHECK(c.limits.max_recipients == 50);
    CHECK(c.limits.command_timeout == std::chrono::seconds(2));
}

TEST_CASE("errors name the file, line and column") {
    CHECK(
        config_error_of("[server]\nhostnme = \"x\"\n") ==
        "t.toml:2:1: unknown key \"server.hostnme\" (did you mean \"hostname\"?)"
    );
    CHECK(
        config_error_of("[sever]\n") ==
        "t.toml:1:2: unknown key \"sever\" (did you mean \"server\"?)"
    );
    CHECK(
        config_error_of("[limits]\nmax_recipients = \"ten\"\n") ==
        "t.toml:2:18: limits.max_recipients must be an integer, not a string"
    );
    CHECK(
        config_error_of("[limits]\nmax_recipients = 0\n") ==
        "t.toml:2:18: limits.max_recipients must be between 1 and 100000"
    );
    CHECK(
        config_error_of("[relay]\nallowed_networks = [\"10.0.0.0/33\"]\n") ==
        "t.toml:2:21: relay.allowed_networks: \"10.0.0.0/33\" is not an address or CIDR network "
        "such as \"10.0.0.0/8\""
    );
    CHECK(
        config_error_of("[relay]\nallowed_networks = [\"10.0.0.1/8\"]\n").find("t.toml:2:21:") == 0
    );
    CHECK(
        config_error_of("[[listener]]\naddress = \"localhost:25\"\n")
            .find("t.toml:2:11: listener.address") == 0
    );
    CHECK(
        config_error_of("[[listener]]\naddress = \"127.0.0.1:25\"\ntls = \"sometimes\"\n") ==
        "t.toml:3:7: listener.tls must be one of \"none\", \"starttls\", \"implicit\", not "
        "\"sometimes\""
    );
    CHECK(
        config_error_of("[[listener]]\naddress = \"127.0.0.1:25\"\ntls = \"starttls\"\n")
            .find("t.toml:2:11: this listener uses TLS") == 0
    );
    CHECK(
        config_error_of("[delivery]\nretry = [\"5m\", \"soon\"]\n") ==
        "t.toml:2:16: delivery.retry must be a duration such as \"30s\", \"5m\", \"2h\" or \"5d\""
    );
    CHECK(config_error_of("[server\n").find("t.toml:1:") == 0);
    CHECK(
        config_error_of("listener = 3\n") ==
        "t.toml:1:12: listener must be written as [[listener]] entries"
    );
    CHECK(
        config_error_of("[tls]\ncertificate = \"/nonexistent/cert.pem\"\nprivate_key = \"/x\"\n") ==
        "t.toml:2:15: tls.certificate \"/nonexistent/cert.pem\" does not exist"
    );
}

TEST_CASE("a world-readable private key is refused") {
    auto dir = std::filesystem::temp_directory_path() / "outpost-config-test";
    std::filesystem::create_directories(dir);
    auto key = dir / "key.pem";
    std::ofstream(key) << "not really a key\n";
    std::filesystem::permissions(key, std::filesystem::perms(0644));
    auto text = "[[dkim]]\ndomain = \"example.com\"\nselector = \"s1\"\nprivate_key = \"" +
                key.string() + "\"\n";
    CHECK(
        config_error_of(text) == "t.toml:4:15: dkim.private_key \"" + key.string() +
                                     "\" is readable by everyone; chmod 600 it"
    );
    std::filesystem::permissions(key, std::filesystem::perms(0600));
    auto c = config_from(text);
    REQUIRE(c.dkim_keys.size() == 1);
    CHECK(c.dkim_keys[0].algorithm == "rsa-sha256");
    CHECK(c.dkim_keys[0].private_key_where.line == 4);
    std::filesystem::remove_all(dir);
}

namespace {

// A directory of its own under the system temporary directory, removed at the end.
struct temp_dir {
    std::filesystem::path path;

    temp_dir() {
        auto pattern = (std::filesystem::temp_directory_path() / "outpost-example.XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }

    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    ~temp_dir() { std::filesystem::remove_all(path); }
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The example config with every "/etc/outpost/..." file it names moved under dir, where each of
// them is created (mode 600, as keys must be), so that the file checks pass and the loader goes
// on to the end of the file. count receives how many distinct files were created.
std::string example_under(const std::filesystem::path& dir, std::size_t& count) {
    auto text = read_file(OUTPOST_SOURCE_DIR "/config/outpost.example.toml");
    const std::string prefix = "\"/etc/outpost/";
    std::set<std::string> files;
    for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at)) {
        auto end = text.find('"', at + 1);
        REQUIRE(end != std::string::npos);
        auto relative = text.substr(at + prefix.size(), end - at - prefix.size());
        auto file = dir / relative;
        if (files.insert(relative).second) {
            std::filesystem::create_directories(file.parent_path());
            // Long enough for a webhook secret (16 characters at least).
            std::ofstream(file) << "placeholder-0123456789\n";
            std::filesystem::permissions(file, std::filesystem::perms(0600));
        }
        text.replace(at + 1, end - at - 1, file.string());
        at = end;
    }
    count = files.size();
    return text;
}

// The commented-out examples made live: "# key = value" and "# [section]" lines lose their "# ",
// except the headers line, whose "..." stands for more names.
std::string uncommented(const std::string& text) {
    static const std::regex live(R"(^# ?((\[\[?[a-z_.]+\]\]?)|([a-z_]+ = .*))$)");
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_match(line, m, live) && line.find("...]") == std::string::npos)
            line = m[1].str();
        out += line + "\n";
    }
    return out;
}

outpost::config::config load_ok(const std::filesystem::path& file) {
    auto r = load(file.string());
    if (auto* e = std::get_if<load_error>(&r))
        FAIL(e->message);
    return std::get<outpost::config::config>(r);
}

}  // namespace

TEST_CASE("the example config in the repository loads, every section of it") {
    temp_dir dir;
    std::size_t files = 0;
    auto text = example_under(dir.path, files);
    // At least the TLS certificate and key, the users file, two DKIM keys and the ARC key.
    CHECK(files >= 6);
    CHECK(text.find("\"/etc/outpost") == std::string::npos);
    auto file = dir.path / "outpost.toml";
    std::ofstream(file) << text;
    auto c = load_ok(file);

    CHECK(c.server.hostname == "mta1.example.com");
    CHECK(c.server.spool_dir == "/var/lib/outpost");
    REQUIRE(c.listeners.size() == 3);
    CHECK(c.listeners[1].tls == tls_mode::implicit);
    CHECK(c.listeners[2].auth == auth_policy::none);
    REQUIRE(c.tls);
    CHECK(c.tls->certificate == (dir.path / "tls/fullchain.pem").string());
    CHECK(c.auth.users_file == (dir.path / "users").string());
    CHECK(c.limits.data_timeout == std::chrono::minutes(10));
    REQUIRE(c.dkim_keys.size() == 2);
    CHECK(c.dkim_keys[1].selector == "s2026e");
    CHECK(c.dkim_keys[1].algorithm == "ed25519-sha256");
    CHECK(c.dkim_keys[1].private_key == (dir.path / "dkim/example.com.s2026e.pem").string());
    CHECK(c.arc.enabled);
    CHECK(c.arc.selector == "arc2026");
    CHECK(c.arc.private_key == (dir.path / "dkim/arc.pem").string());
    REQUIRE(c.delivery.retry.size() == 6);
    CHECK(c.delivery.retry[5] == std::chrono::hours(4));
    CHECK(c.delivery.max_connections_per_destination == 5);
    // The sections at the end of the file.
    REQUIRE(c.providers.size() == 4);
    CHECK(c.providers[0].name == "google");
    CHECK(c.providers[0].mx == std::vector<std::string>{"*.google.com", "*.googlemail.com"});
    CHECK(c.providers[2].name == "yahoo");
    CHECK(c.providers[2].rate == "30/min");
    CHECK(c.providers[2].max_messages_per_connection == 20);
    CHECK(c.providers[3].name == "apple");
    CHECK(c.providers[3].domains == std::vector<std::string>{"icloud.com", "me.com", "mac.com"});
    CHECK(c.bounce.soft_bounce_limit == 3);
    CHECK(c.bounce.suppressed_recipient == "reject");
    CHECK(c.admin.address == "127.0.0.1:9025");
    CHECK(c.admin.address_configured);
    CHECK(c.path == file.string());
}

TEST_CASE("the example config's commented-out examples load too") {
    temp_dir dir;
    std::size_t files = 0;
    auto text = uncommented(example_under(dir.path, files));
    auto file = dir.path / "outpost.toml";
    std::ofstream(file) << text;
    auto c = load_ok(file);

    CHECK(c.dkim.oversign == std::vector<std::string>{"from", "subject"});
    REQUIRE(c.delivery.dns_servers.size() == 1);
    CHECK(c.delivery.dns_servers[0].port == 5353);
    REQUIRE(c.routes.size() == 1);
    CHECK(c.routes[0].next_hop.text() == "10.0.0.5:25");
    REQUIRE(c.domains.size() == 1);
    CHECK(c.domains[0].tls == "required");
    REQUIRE(c.source_ips.size() == 2);
    CHECK(c.source_ips[0].warming == "standard");
    CHECK(c.source_ips[0].warming_start == "2026-11-20");
    REQUIRE(c.warming.count("standard") == 1);
    const auto& w = c.warming.at("standard");
    CHECK(w.daily.size() == 7);
    CHECK(w.ceiling == 100000u);
    CHECK(w.max_complaint_rate == doctest::Approx(0.003));
    CHECK(w.overflow == std::vector<std::string>{"198.51.100.7"});
    REQUIRE(w.provider.count("google") == 1);
    CHECK(w.provider.at("google").front() == 200);
    REQUIRE(c.throttles.size() == 1);
    CHECK(c.throttles[0].domain == "orange.fr");
    CHECK(c.throttles[0].max_connections == 1);
    CHECK(c.bounce.domain == "bounces.example.com");
    CHECK(c.admin.token == "long random string");
    REQUIRE(c.cluster);
    CHECK(c.cluster->host == "127.0.0.1");
    CHECK(c.cluster->password == "placeholder-0123456789");
    CHECK(c.cluster->node == "mta1");
    CHECK(c.cluster->timeout == std::chrono::milliseconds(500));
    REQUIRE(c.webhooks.size() == 1);
    CHECK(c.webhooks[0].name == "app");
    CHECK(c.webhooks[0].secret == "placeholder-0123456789");
    CHECK(c.webhooks[0].events == std::vector<std::string>{"bounced", "complaint"});
    CHECK(c.events.retention == std::chrono::hours(24 * 7));
}

TEST_CASE("delivery deadlines: RFC 5321's minimums by default, each settable, never under 1s") {
    auto d = config_from("").delivery;
    CHECK(d.tls_handshake_timeout == std::chrono::minutes(1));
    CHECK(d.data_start_timeout == std::chrono::minutes(2));
    CHECK(d.data_write_timeout == std::chrono::minutes(3));
    CHECK(d.data_end_timeout == std::chrono::minutes(10));
    auto set = config_from(
                   "[delivery]\ntls_handshake_timeout = \"5s\"\ndata_start_timeout = \"6s\"\n"
                   "data_write_timeout = \"7s\"\ndata_end_timeout = \"8s\"\n"
    )
                   .delivery;
    CHECK(set.tls_handshake_timeout == std::chrono::seconds(5));
    CHECK(set.data_start_timeout == std::chrono::seconds(6));
    CHECK(set.data_write_timeout == std::chrono::seconds(7));
    CHECK(set.data_end_timeout == std::chrono::seconds(8));
    CHECK(
        config_error_of("[delivery]\ndata_end_timeout = \"0s\"\n") ==
        "t.toml:2:20: delivery.data_end_timeout must be at least 1s"
    );
    CHECK(config_from("").delivery.idle_connection_time == std::chrono::seconds(2));
    CHECK(
        config_from("[delivery]\nidle_connection_time = \"0s\"\n").delivery.idle_connection_time ==
        std::chrono::seconds(0)
    );
    CHECK(
        config_error_of("[delivery]\nidle_connection_time = \"2m\"\n") ==
        "t.toml:2:24: delivery.idle_connection_time must be at most 1m (receivers drop idle "
        "sessions)"
    );
    CHECK(
        config_error_of("[delivery]\ncommand_timeout = \"500ms\"\n")
            .find("t.toml:2:19: delivery.command_timeout") == 0
    );
}

TEST_CASE("DANE on by default; a route's tls; a domain may require DANE") {
    CHECK(config_from("").delivery.dane);
    CHECK_FALSE(config_from("[delivery]\ndane = false\n").delivery.dane);
    CHECK(config_error_of("[delivery]\ndane = 1\n").find("t.toml:2:") == 0);
    auto routes = config_from(
                      "[[route]]\ndomains = [\"a.test\"]\nnext_hop = \"127.0.0.1:25\"\n"
                      "tls = \"required\"\n[[route]]\ndomains = [\"b.test\"]\n"
                      "next_hop = \"127.0.0.1:25\"\n"
    )
                      .routes;
    REQUIRE(routes.size() == 2);
    CHECK(routes[0].tls == "required");
    CHECK(routes[1].tls.empty());  // [delivery] tls
    CHECK(
        config_from(
            "[[route]]\ndomains = [\"a.test\"]\nnext_hop = \"127.0.0.1:25\"\ntls = \"may\"\n"
        )
            .routes[0]
            .tls == "opportunistic"
    );
    CHECK(
        config_error_of(
            "[[route]]\ndomains = [\"a.test\"]\nnext_hop = \"127.0.0.1:25\"\ntls = \"dane\"\n"
        )
            .find("t.toml:4:") == 0
    );
    CHECK(
        config_from("[[domain]]\nname = \"gov.example\"\ntls = \"dane\"\n").domains[0].tls == "dane"
    );
}

TEST_CASE("MTA-STS on by default; tls_ca_file must be readable; tls_report names the reporter") {
    auto d = config_from("").delivery;
    CHECK(d.mta_sts);
    CHECK(d.tls_ca_file.empty());
    CHECK_FALSE(config_from("[delivery]\nmta_sts = false\n").delivery.mta_sts);
    CHECK(config_from("[delivery]\ntls = \"verify\"\n").delivery.tls == "verify");
    CHECK(
        config_from("[[domain]]\nname = \"bank.example\"\ntls = \"verify\"\n").domains[0].tls ==
        "verify"
    );
    CHECK(
        config_error_of("[delivery]\ntls_ca_file = \"/nonexistent/ca.pem\"\n")
            .find("t.toml:2:15: delivery.tls_ca_file \"/nonexistent/ca.pem\" does not exist") == 0
    );
    CHECK(config_error_of("[delivery]\nmta_sts = \"yes\"\n").find("t.toml:2:") == 0);
    auto r =
        config_from("[tls_report]\norganization = \"Example\"\ncontact = \"tls@example.com\"\n")
            .tls_report;
    CHECK(r.organization == "Example");
    CHECK(r.contact == "tls@example.com");
    CHECK(config_error_of("[tls_report]\nemail = \"x\"\n").find("t.toml:2:") == 0);
}
