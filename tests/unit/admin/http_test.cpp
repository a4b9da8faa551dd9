// Request targets, endpoint addresses and the bearer token check.
#include "core/admin/http.hpp"

#include <doctest/doctest.h>

using namespace outpost::admin;

TEST_CASE("a target splits into a decoded path and query") {
    auto t = parse_target("/api/v1/queue?domain=ex%41mple.net&state=deferred");
    REQUIRE(t);
    CHECK(t->path == "/api/v1/queue");
    CHECK(t->query.at("domain") == "exAmple.net");
    CHECK(t->query.at("state") == "deferred");
    auto plain = parse_target("/metrics");
    REQUIRE(plain);
    CHECK(plain->path == "/metrics");
    CHECK(plain->query.empty());
}

TEST_CASE("query edge cases: empty pairs, keys without values, plus as space") {
    auto t = parse_target("/q?&a&b=&c=x+y&&c=z");
    REQUIRE(t);
    CHECK(t->query.at("a").empty());
    CHECK(t->query.at("b").empty());
    CHECK(t->query.at("c") == "z");  // the last one wins
    CHECK(parse_target("/q?c=x+y")->query.at("c") == "x y");
    CHECK(parse_target("/a+b")->path == "/a+b");  // '+' is literal in the path
}

TEST_CASE("malformed targets are refused") {
    CHECK_FALSE(parse_target("http://host/metrics"));
    CHECK_FALSE(parse_target("*"));
    CHECK_FALSE(parse_target(""));
    CHECK_FALSE(parse_target("/a%2"));
    CHECK_FALSE(parse_target("/a%zz"));
    CHECK_FALSE(parse_target("/q?x=%4"));
}

TEST_CASE("url_encode keeps unreserved characters and escapes the rest") {
    CHECK(url_encode("example.net") == "example.net");
    CHECK(url_encode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9");
    auto t = parse_target("/q?d=" + url_encode("a b&c=d"));
    REQUIRE(t);
    CHECK(t->query.at("d") == "a b&c=d");
}

TEST_CASE("endpoint addresses: IPv4, bracketed IPv6, unix socket paths") {
    auto v4 = parse_endpoint_address("127.0.0.1:9025");
    REQUIRE(v4);
    CHECK(v4->host == "127.0.0.1");
    CHECK(v4->port == 9025);
    CHECK(v4->unix_path.empty());
    auto v6 = parse_endpoint_address("[::1]:80");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 80);
    auto unix_socket = parse_endpoint_address("/run/outpost/admin.sock");
    REQUIRE(unix_socket);
    CHECK(unix_socket->unix_path == "/run/outpost/admin.sock");
    CHECK_FALSE(parse_endpoint_address("127.0.0.1"));
    CHECK_FALSE(parse_endpoint_address("127.0.0.1:0"));
    CHECK_FALSE(parse_endpoint_address("127.0.0.1:65536"));
    CHECK_FALSE(parse_endpoint_address("::1:80"));
    CHECK_FALSE(parse_endpoint_address("relative/path"));
}

TEST_CASE("without a token every request is authorized") {
    CHECK(authorized("", ""));
    CHECK(authorized("Bearer anything", ""));
}

TEST_CASE("with a token only the exact bearer token is authorized") {
    CHECK(authorized("Bearer s3cret", "s3cret"));
    CHECK(authorized("bearer s3cret", "s3cret"));  // the scheme is case-insensitive
    CHECK_FALSE(authorized("", "s3cret"));
    CHECK_FALSE(authorized("Bearer ", "s3cret"));
    CHECK_FALSE(authorized("Bearer s3cre", "s3cret"));
    CHECK_FALSE(authorized("Bearer s3cretX", "s3cret"));
    CHECK_FALSE(authorized("Bearer S3CRET", "s3cret"));
    CHECK_FALSE(authorized("Basic s3cret", "s3cret"));
    CHECK_FALSE(authorized("s3cret", "s3cret"));
}
