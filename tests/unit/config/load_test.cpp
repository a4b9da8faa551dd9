#include "config/load.hpp"

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "tests/support/config_text.hpp"

using namespace outpost::config;

using outpost::test::config_error_of;
using outpost::test::config_from;

TEST_CASE("an empty file gives the documented defaults") {
    auto c = config_from("");
    CHECK(c.server.spool_dir == "/var/spool/outpost");
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

TEST_CASE("the example config in the repository loads") {
    auto r = load(OUTPOST_SOURCE_DIR "/config/outpost.example.toml");
    if (auto* e = std::get_if<load_error>(&r)) {
        // The example names key files under /etc/outpost that a build machine does not have; every
        // other error is a real one.
        CHECK_MESSAGE(e->message.find("does not exist") != std::string::npos, e->message);
    }
}
