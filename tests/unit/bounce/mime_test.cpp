// MIME reading for bounces: fields, multipart, transfer encodings, charsets, encoded words.
#include "core/bounce/detail/mime.hpp"

#include <doctest/doctest.h>

using namespace outpost::bounce::detail;

TEST_CASE("read_fields unfolds continuation lines and stops at the empty line") {
    auto [fields, rest] = read_fields("Subject: a\n  b\nTo: x@y.org\n\nbody\n");
    REQUIRE(fields.size() == 2);
    CHECK(fields[0].value == "a b");
    CHECK(field_value(fields, "to") == "x@y.org");
    CHECK(rest == "body\n");
}

TEST_CASE("header_parameter reads quoted, bare and RFC 2231 continued parameters") {
    CHECK(
        header_parameter(
            "multipart/report; report-type=delivery-status; boundary=\"a b\"", "boundary"
        ) == "a b"
    );
    CHECK(header_parameter("text/plain; charset=ISO-2022-JP", "charset") == "ISO-2022-JP");
    CHECK(
        header_parameter("multipart/mixed; boundary*0=\"ab\"; boundary*1=\"cd\"", "boundary") ==
        "abcd"
    );
    CHECK(header_parameter("text/plain", "charset").empty());
}

TEST_CASE("base64 and quoted-printable decode, tolerating line breaks and soft breaks") {
    CHECK(decode_base64("SGVs\nbG8=") == "Hello");
    CHECK(decode_quoted_printable("caf=C3=A9 =\nau lait") == "caf\xc3\xa9 au lait");
    CHECK(decode_quoted_printable("a=3Db") == "a=b");
}

TEST_CASE("encoded words are decoded to UTF-8 and adjacent words join without space") {
    CHECK(decode_words("=?UTF-8?B?w6k=?= =?UTF-8?Q?t=C3=A9?=") == "\xc3\xa9t\xc3\xa9");
    CHECK(decode_words("=?iso-8859-1?q?caf=E9?= x") == "caf\xc3\xa9 x");
    CHECK(decode_words("plain text") == "plain text");
}

TEST_CASE("to_utf8 converts labelled charsets and falls back on bad labels") {
    CHECK(to_utf8("caf\xe9", "iso-8859-1") == "caf\xc3\xa9");
    CHECK(to_utf8("ascii", "no-such-charset") == "ascii");
    // ISO-2022-JP "テスト"
    CHECK(to_utf8("\x1b$B%F%9%H\x1b(B", "iso-2022-jp") == "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88");
}

TEST_CASE("parse_entity splits multipart bodies and decodes each part") {
    const char* raw =
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"XX\"\r\n"
        "\r\n"
        "preamble\r\n"
        "--XX\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "VXNlciB1bmtub3du\r\n"
        "--XX\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n"
        "--XX\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "To: a@example.net\r\n"
        "\r\n"
        "hi\r\n"
        "--XX--\r\n";
    auto e = parse_entity(raw);
    CHECK(e.media_type == "multipart/report");
    REQUIRE(e.parts.size() == 3);
    CHECK(e.parts[0].text == "User unknown");
    CHECK(e.parts[1].media_type == "message/delivery-status");
    REQUIRE(e.parts[2].parts.size() == 1);
    CHECK(field_value(e.parts[2].parts[0].headers, "To") == "a@example.net");
}

TEST_CASE("a multipart without its boundaries is kept as text") {
    auto e = parse_entity("Content-Type: multipart/mixed; boundary=\"gone\"\n\nJust text\n");
    CHECK(e.parts.empty());
    CHECK(e.multipart_without_boundaries);
    CHECK(e.text == "Just text\n");
}

TEST_CASE("html_to_text drops tags and decodes entities") {
    CHECK(html_to_text("<p>a&amp;b</p><style>x{}</style>c&#233;") == "\na&b\nc\xc3\xa9");
}
