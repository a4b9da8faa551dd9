// [admin]: the address forms, the token, and the loopback rule.
#include <doctest/doctest.h>

#include "config/load.hpp"
#include "tests/support/config_text.hpp"

using namespace outpost::config;

using outpost::test::config_error_of;

TEST_CASE("the admin endpoint defaults to loopback without a token") {
    auto r = load_string("", "t.toml");
    REQUIRE(std::holds_alternative<config>(r));
    CHECK(std::get<config>(r).admin.address == "127.0.0.1:9025");
    CHECK(std::get<config>(r).admin.token.empty());
}

TEST_CASE("loopback addresses and unix sockets need no token") {
    CHECK(config_error_of("[admin]\naddress = \"127.0.0.1:9025\"\n") == "no error");
    CHECK(config_error_of("[admin]\naddress = \"[::1]:9025\"\n") == "no error");
    CHECK(config_error_of("[admin]\naddress = \"/run/outpost/admin.sock\"\n") == "no error");
}

TEST_CASE("a non-loopback admin address without a token is an error at the address") {
    auto e = config_error_of("[admin]\naddress = \"0.0.0.0:9025\"\n");
    CHECK(e.starts_with("t.toml:2:"));
    CHECK(e.find("admin.token") != std::string::npos);
    CHECK(config_error_of("[admin]\naddress = \"192.0.2.1:9025\"\n") != "no error");
}

TEST_CASE("a non-loopback admin address with a token is accepted") {
    auto r = load_string("[admin]\naddress = \"0.0.0.0:9025\"\ntoken = \"s3cret\"\n", "t.toml");
    REQUIRE(std::holds_alternative<config>(r));
    CHECK(std::get<config>(r).admin.token == "s3cret");
}
