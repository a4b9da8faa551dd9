#include "core/listener/priority.hpp"

#include <doctest/doctest.h>

using namespace outpost::listener;

TEST_CASE("the priority header is read and removed, folded lines and repeats included") {
    std::string m =
        "From: a@example.com\r\n"
        "X-Outpost-Priority:\r\n  High \r\n"
        "Subject: hi\r\n"
        "x-outpost-priority: low\r\n"
        "\r\n"
        "X-Outpost-Priority: body text stays\r\n";
    auto v = take_header_field(m, "X-Outpost-Priority");
    REQUIRE(v);
    CHECK(*v == "High");
    CHECK(parse_priority(*v) == "high");
    CHECK(
        m ==
        "From: a@example.com\r\n"
        "Subject: hi\r\n"
        "\r\n"
        "X-Outpost-Priority: body text stays\r\n"
    );
}

TEST_CASE("without the header nothing changes; unknown values are refused") {
    std::string m = "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";
    auto copy = m;
    CHECK_FALSE(take_header_field(m, "X-Outpost-Priority"));
    CHECK(m == copy);
    CHECK_FALSE(parse_priority("urgent"));
    CHECK(parse_priority(" LOW ") == "low");
    CHECK(parse_priority("normal") == "normal");
}
