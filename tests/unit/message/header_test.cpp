// Unit tests for RFC 5322 header parsing that keeps raw bytes.
#include "core/message/header.hpp"

#include <doctest/doctest.h>

using namespace outpost::message;

TEST_CASE("header fields keep their raw bytes, folded lines and final CRLF") {
    std::string_view msg =
        "From: a@example.com\r\n"
        "Subject: a long\r\n"
        "\tfolded subject\r\n"
        "X-Empty:\r\n"
        "\r\n"
        "body\r\n";
    auto h = parse_header(msg);
    REQUIRE(h.fields.size() == 3);
    CHECK(h.fields[0].name == "From");
    CHECK(h.fields[0].value == " a@example.com");
    CHECK(h.fields[0].raw == "From: a@example.com\r\n");
    CHECK(h.fields[1].name == "Subject");
    CHECK(h.fields[1].raw == "Subject: a long\r\n\tfolded subject\r\n");
    CHECK(h.fields[1].value == " a long\r\n\tfolded subject");
    CHECK(h.fields[2].name == "X-Empty");
    CHECK(h.fields[2].value.empty());
    CHECK(msg.substr(h.body_offset) == "body\r\n");
}

TEST_CASE("a header without an empty line is all header and the body is empty") {
    std::string_view msg = "From: a@example.com\r\nSubject: x\r\n";
    auto h = parse_header(msg);
    REQUIRE(h.fields.size() == 2);
    CHECK(h.body_offset == msg.size());
}

TEST_CASE("an empty line right away means no fields and everything after it is body") {
    std::string_view msg = "\r\nbody";
    auto h = parse_header(msg);
    CHECK(h.fields.empty());
    CHECK(msg.substr(h.body_offset) == "body");
}

TEST_CASE("bare LF line ends are accepted and kept in raw") {
    std::string_view msg = "From: a@example.com\nSubject: one\n two\n\nbody\n";
    auto h = parse_header(msg);
    REQUIRE(h.fields.size() == 2);
    CHECK(h.fields[1].raw == "Subject: one\n two\n");
    CHECK(h.fields[1].value == " one\n two");
    CHECK(msg.substr(h.body_offset) == "body\n");
}

TEST_CASE("WSP before the colon is not part of the name (RFC 5322 obs syntax)") {
    auto h = parse_header("Subject \t: hi\r\n\r\n");
    REQUIRE(h.fields.size() == 1);
    CHECK(h.fields[0].name == "Subject");
    CHECK(h.fields[0].value == " hi");
}

TEST_CASE("a line without a colon becomes a nameless field so no byte is lost") {
    auto h = parse_header("From sender Tue Nov 24\r\nFrom: a@b.example\r\n\r\n");
    REQUIRE(h.fields.size() == 2);
    CHECK(h.fields[0].name.empty());
    CHECK(h.fields[0].raw == "From sender Tue Nov 24\r\n");
    CHECK(name_is(h.fields[1], "from"));
}

TEST_CASE("a colon on a continuation line does not make the name") {
    auto h = parse_header("Garbage\r\n with: colon\r\n\r\n");
    REQUIRE(h.fields.size() == 1);
    CHECK(h.fields[0].name.empty());
}

TEST_CASE("8-bit UTF-8 in values is kept byte for byte") {
    std::string_view msg = "Subject: caf\xc3\xa9 \xe2\x98\x95\r\n\r\n";
    auto h = parse_header(msg);
    REQUIRE(h.fields.size() == 1);
    CHECK(h.fields[0].value == " caf\xc3\xa9 \xe2\x98\x95");
}

TEST_CASE("field look-up is case-insensitive and keeps order") {
    auto h = parse_header("To: a@x\r\nto: b@x\r\nTO: c@x\r\nCc: d@x\r\n\r\n");
    auto to = find_fields(h.fields, "To");
    REQUIRE(to.size() == 3);
    CHECK(to[0]->value == " a@x");
    CHECK(to[2]->value == " c@x");
    CHECK(count_fields(h.fields, "cc") == 1);
    CHECK(find_first(h.fields, "bcc") == nullptr);
    CHECK(find_first(h.fields, "CC")->value == " d@x");
}

TEST_CASE("view_message puts prefix fields above the original and takes the body from it") {
    std::string_view prefix = "Received: by relay\r\n";
    std::string_view original = "From: a@x\r\n\r\nhello\r\n";
    auto v = view_message(prefix, original);
    REQUIRE(v.fields.size() == 2);
    CHECK(v.fields[0].name == "Received");
    CHECK(v.fields[1].name == "From");
    CHECK(v.body == "hello\r\n");
    CHECK(view_message(original).fields.size() == 1);
}

TEST_CASE("message_id_of: the first Message-ID, unfolded, trimmed, printable, bounded") {
    using outpost::message::message_id_of;
    CHECK(
        message_id_of("From: a@x\r\nMessage-ID: <abc@example.com>\r\n\r\nbody") ==
        "<abc@example.com>"
    );
    CHECK(
        message_id_of("message-id:\r\n   <folded@example.com>  \r\nTo: b\r\n\r\n") ==
        "<folded@example.com>"
    );
    CHECK(message_id_of("Message-ID: <a@x>\nMessage-ID: <b@x>\n\n") == "<a@x>");  // bare LF
    CHECK(message_id_of("From: a@x\r\n\r\nMessage-ID: <in-body@x>\r\n").empty());
    CHECK(message_id_of("Message-ID: <\x1b[31mred\xff@x>\r\n\r\n") == "<[31mred@x>");
    CHECK(message_id_of("Message-ID: <" + std::string(400, 'a') + "@x>\r\n\r\n").size() == 250);
    CHECK(message_id_of("").empty());
}
