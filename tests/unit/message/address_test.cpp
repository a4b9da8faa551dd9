// Unit tests for RFC 5322 address-list parsing of From:-like fields.
#include "core/message/address.hpp"

#include <random>
#include <string>
#include <vector>

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

// What parse_address_list gives, as text: "nullopt" or local|domain per mailbox.
std::string describe(const std::optional<std::vector<mailbox>>& list) {
    if (!list)
        return "nullopt";
    std::string out;
    for (const auto& m : *list)
        out += "[" + m.local_part + "|" + m.domain + "]";
    return out;
}

// The fast path agrees with the full parser on value: same result from parse_address_list, and
// when parse_common_mailbox takes it, the full parser's single mailbox. True when it took it.
bool check_same(const std::string& value) {
    INFO("value: \"" << value << "\"");
    auto full = detail::parse_address_list_full(value);
    CHECK(describe(parse_address_list(value)) == describe(full));
    auto fast = detail::parse_common_mailbox(value);
    if (!fast)
        return false;
    REQUIRE(full);
    REQUIRE(full->size() == 1);
    CHECK(fast->local_part == (*full)[0].local_part);
    CHECK(fast->domain == (*full)[0].domain);
    return true;
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

TEST_CASE("the common From: shapes take the fast path") {
    for (const char* v :
         {" sender@Example.COM", "Sender <s@example.com>", " \"Sender, Name\" <s@example.com> ",
          "<s@example.com>", "\t\"A\" B \"C\"<s.x@mail.example.com>"})
        CHECK(check_same(v));
    for (const char* v :
         {" a@b.example (comment)", " a@b.example, c@b.example", " \"a\\\"b\" <a@b.example>",
          " g: a@b.example;", " < a@b.example >", " a@b.example.", " a@.b.example",
          " a@[192.0.2.1]", " <@r.example:a@b.example>", " A\r\n B <a@b.example>"})
        CHECK_FALSE(check_same(v));
}

TEST_CASE("the fast path agrees with the full parser on random values") {
    std::mt19937 rng(20261125);
    // Pieces that mostly form the common shapes, with every special and break mixed in.
    const std::vector<std::string> pieces = {
        "a", "Bob", "x.y", ".", "@", "@", "<", ">",  "\"", "\\",       " ", " ",      "\t",
        "(", ")",   ",",   ":", ";", "[", "]", "\r", "\n", "\xc3\xb6", "-", "Ex.COM", "\"q w\"",
    };
    std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
    std::uniform_int_distribution<int> length(0, 12);
    int fast = 0;
    for (int n = 0; n < 200000; ++n) {
        std::string v;
        int shape = n % 4;
        if (shape == 0) {
            for (int k = length(rng); k > 0; --k)
                v += pieces[pick(rng)];
        } else {
            // [ws] [display] [ws] "<" local "@" domain ">" [ws], each part perturbed at times.
            auto part = [&](std::initializer_list<const char*> choices) {
                std::uniform_int_distribution<std::size_t> c(0, choices.size() - 1);
                return std::string(*(choices.begin() + c(rng)));
            };
            v += part({"", " ", "\t", "  "});
            if (shape >= 2)
                v += part({"Name", "\"Name, Q\"", "A B", "\"\"", "J\xc3\xb6rg", "x.y", ""});
            v += part({"", " ", "\t"});
            if (shape != 1)
                v += "<";
            v += part({"s", "s.x", "a-b", ".s", "s.", ""});
            v += part({"@", "@", "@", "", "@@"});
            v += part({"Example.COM", "b", "b.", ".b", "b..c", "", "[1.2.3.4]"});
            if (shape != 1)
                v += ">";
            v += part({"", " ", "\t "});
            if (rng() % 8 == 0)
                v.insert(rng() % (v.size() + 1), pieces[pick(rng)]);
        }
        fast += check_same(v) ? 1 : 0;
    }
    CHECK(fast > 20000);
}
