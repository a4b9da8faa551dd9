// Unit tests for RFC 5322 address-list parsing of From:-like fields.
#include "core/message/address.hpp"

#include <doctest/doctest.h>

using namespace outpost::message;

namespace {

std::vector<std::string> domains(std::string_view value) {
    auto list = parse_address_list(value);
    REQUIRE(list.has_value());
    std::vector<std::string> out;
    for (const auto& m : *list)
        out.push_back(m.domain);
    return out;
}

}  // namespace

TEST_CASE("a bare addr-spec gives its local part and lower-case domain") {
    auto list = parse_address_list(" joe@Football.Example.COM");
    REQUIRE(list);
    REQUIRE(list->size() == 1);
    CHECK((*list)[0].local_part == "joe");
    CHECK((*list)[0].domain == "football.example.com");
}

TEST_CASE("display names, comments and quoted strings are skipped") {
    CHECK(domains(" Joe SixPack <joe@a.example>") == std::vector<std::string>{"a.example"});
    CHECK(
        domains(" \"Six, Pack\" <joe@a.example> (the boss)") ==
        std::vector<std::string>{"a.example"}
    );
    CHECK(domains(" (comment (nested)) joe@a.example") == std::vector<std::string>{"a.example"});
    auto q = parse_address_list(" \"john q\"@b.example");
    REQUIRE(q);
    CHECK((*q)[0].local_part == "john q");
}

TEST_CASE("folded values and several mailboxes parse") {
    CHECK(
        domains(" a@one.example,\r\n\tB <b@two.example>") ==
        std::vector<std::string>{"one.example", "two.example"}
    );
}

TEST_CASE("groups contribute their members and an empty group none") {
    CHECK(domains(" undisclosed-recipients:;").empty());
    CHECK(
        domains(" team: a@x.example, b@y.example; c@z.example") ==
        std::vector<std::string>{"x.example", "y.example", "z.example"}
    );
}

TEST_CASE("obsolete routes and 8-bit display names are accepted") {
    CHECK(domains(" <@relay.example:joe@a.example>") == std::vector<std::string>{"a.example"});
    CHECK(domains(" J\xc3\xb6rg <j@b.example>") == std::vector<std::string>{"b.example"});
}

TEST_CASE("values that are not address lists give nullopt") {
    CHECK_FALSE(parse_address_list(" no-at-sign"));
    CHECK_FALSE(parse_address_list(" \"unclosed <a@b.example>"));
    CHECK_FALSE(parse_address_list(" (unclosed a@b.example"));
    CHECK_FALSE(parse_address_list(" <a@b.example"));
    CHECK_FALSE(parse_address_list(" a@"));
}
