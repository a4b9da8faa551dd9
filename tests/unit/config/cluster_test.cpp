// [cluster]: the Redis URL forms, the password file, and errors at FILE:LINE:COL.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <unistd.h>

#include "config/redis_url.hpp"
#include "tests/support/config_text.hpp"

using namespace outpost::config;
using outpost::test::config_error_of;
using outpost::test::config_from;

TEST_CASE("redis URLs: host, port, database, password, IPv6 and unix sockets") {
    auto a = parse_redis_url("redis://127.0.0.1:6380/2");
    REQUIRE(a.address);
    CHECK(a.address->host == "127.0.0.1");
    CHECK(a.address->port == 6380);
    CHECK(a.address->database == 2);
    CHECK(a.address->password.empty());

    auto b = parse_redis_url("redis://:s3cret@redis.internal");
    REQUIRE(b.address);
    CHECK(b.address->host == "redis.internal");
    CHECK(b.address->port == 6379);
    CHECK(b.address->database == 0);
    CHECK(b.address->password == "s3cret");

    auto c = parse_redis_url("redis://default:pw@[::1]:7000/0");
    REQUIRE(c.address);
    CHECK(c.address->host == "::1");
    CHECK(c.address->port == 7000);
    CHECK(c.address->username == "default");
    CHECK(c.address->password == "pw");

    // A password may hold '/' and '@': the user information ends at the last '@'.
    auto slashed = parse_redis_url("redis://app:p/a@ss@10.0.0.7:6390/5");
    REQUIRE(slashed.address);
    CHECK(slashed.address->username == "app");
    CHECK(slashed.address->password == "p/a@ss");
    CHECK(slashed.address->host == "10.0.0.7");
    CHECK(slashed.address->port == 6390);
    CHECK(slashed.address->database == 5);

    auto d = parse_redis_url("unix:/run/redis/redis.sock?db=4");
    REQUIRE(d.address);
    CHECK(d.address->socket_path == "/run/redis/redis.sock");
    CHECK(d.address->host.empty());
    CHECK(d.address->database == 4);
    auto e = parse_redis_url("unix:///run/redis.sock");
    REQUIRE(e.address);
    CHECK(e.address->socket_path == "/run/redis.sock");

    for (const char* bad :
         {"http://x", "redis://", "redis://:pw@", "redis://h:0", "redis://h:70000", "redis://h:x",
          "redis://h/db", "redis://[::1", "redis://[::1]x", "unix:relative", "unix:/s?db=x",
          "unix:/s?x=1", "rediss://h"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_redis_url(bad).address);
        CHECK_FALSE(parse_redis_url(bad).error.empty());
    }
}

TEST_CASE("redis URLs in logs hide the password") {
    CHECK(redact_redis_url("redis://:s3cret@h:1/2") == "redis://:***@h:1/2");
    CHECK(redact_redis_url("redis://user:s3cret@h") == "redis://user:***@h");
    CHECK(redact_redis_url("redis://:s/e@c@h:1/2") == "redis://:***@h:1/2");
    CHECK(redact_redis_url("redis://h:1/2") == "redis://h:1/2");
    CHECK(redact_redis_url("unix:/s") == "unix:/s");
}

TEST_CASE("[cluster] is read with its defaults; without it there is no cluster") {
    CHECK_FALSE(config_from("").cluster);
    auto c = config_from(
        "[server]\nhostname = \"mta1.example.com\"\n[cluster]\nredis = "
        "\"redis://127.0.0.1:6379/1\"\n"
    );
    REQUIRE(c.cluster);
    CHECK(c.cluster->host == "127.0.0.1");
    CHECK(c.cluster->database == 1);
    CHECK(c.cluster->key_prefix == "outpost:");
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    CHECK(c.cluster->node == std::string(host));  // the host's name, not server.hostname
    CHECK(c.cluster->timeout == std::chrono::milliseconds(500));

    auto path = std::filesystem::temp_directory_path() / "outpost-cluster-test.password";
    std::ofstream(path) << "from-file\n";
    auto f = config_from(
        "[cluster]\nredis = \"redis://:in-url@127.0.0.1\"\npassword_file = \"" + path.string() +
        "\"\nkey_prefix = \"eu:\"\ntimeout = \"250ms\"\nnode = \"n2\"\n"
    );
    std::filesystem::remove(path);
    REQUIRE(f.cluster);
    CHECK(f.cluster->password == "from-file");
    CHECK(f.cluster->key_prefix == "eu:");
    CHECK(f.cluster->node == "n2");
    CHECK(f.cluster->timeout == std::chrono::milliseconds(250));
}

TEST_CASE("[cluster] errors name the line and column, never the password") {
    auto bad_url = config_error_of("[cluster]\nredis = \"redis://:hunter2@h:99999\"\n");
    CHECK(bad_url.starts_with("t.toml:2:9: cluster.redis \"redis://:***@h:99999\": the port"));
    CHECK(bad_url.find("hunter2") == std::string::npos);
    CHECK(config_error_of("[cluster]\nkey_prefix = \"x\"\n")
              .starts_with("t.toml:1:1: cluster.redis is required"));
    CHECK(config_error_of("[cluster]\nredis = \"redis://h\"\npassword_file = \"/nonexistent/pw\"\n")
              .starts_with("t.toml:3:17: cluster.password_file \"/nonexistent/pw\" cannot be read")
    );
    CHECK(config_error_of("[cluster]\nredis = \"redis://h\"\ntimeout = \"1ms\"\n")
              .starts_with("t.toml:3:11: cluster.timeout must be between 10ms and 60s"));
    CHECK(config_error_of("[cluster]\nredis = \"redis://h\"\nkey_prefix = \"a*\"\n")
              .starts_with("t.toml:3:14: cluster.key_prefix must be"));
    auto bad_slash = config_error_of("[cluster]\nredis = \"redis://:pa/ss@h:0\"\n");
    CHECK(bad_slash.find("pa/ss") == std::string::npos);
    CHECK(config_error_of("[cluster]\nredis = \"redis://h\"\nnode = \"a b\"\n")
              .starts_with("t.toml:3:8: cluster.node"));
    CHECK(
        config_error_of("[cluster]\nredis = \"redis://h\"\nredsi = 1\n").starts_with("t.toml:3:1: ")
    );
}
