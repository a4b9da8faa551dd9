#include "core/util/text.hpp"

#include <array>
#include <stdexcept>
#include <vector>

#include <doctest/doctest.h>

#include "core/util/log.hpp"

using namespace outpost::util;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

TEST_CASE("durations parse with units and reject garbage") {
    CHECK(parse_duration("30s") == 30s);
    CHECK(parse_duration("5m") == 5min);
    CHECK(parse_duration("2h") == 2h);
    CHECK(parse_duration("5d") == 120h);
    CHECK(parse_duration("250ms") == 250ms);
    CHECK(parse_duration("10") == 10s);
    CHECK_FALSE(parse_duration("5 parsecs"));
    CHECK_FALSE(parse_duration("m"));
    CHECK_FALSE(parse_duration(""));
    CHECK_FALSE(parse_duration("-5s"));
}

TEST_CASE("sizes parse with binary units") {
    CHECK(parse_size("25MB") == 25u * 1024 * 1024);
    CHECK(parse_size("512kb") == 512u * 1024);
    CHECK(parse_size("1048576") == 1048576u);
    CHECK_FALSE(parse_size("12 bananas"));
}

TEST_CASE("durations format compactly") {
    CHECK(format_duration(90s) == "1m30s");
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(0ms) == "0s");
    CHECK(format_duration(std::chrono::hours(26)) == "1d2h");
}

TEST_CASE("base64 round-trips and rejects malformed input") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("\0user\0pass"sv) == "AHVzZXIAcGFzcw==");
    CHECK(base64_decode("AHVzZXIAcGFzcw==") == std::string("\0user\0pass", 10));
    CHECK(base64_decode("Zm9v") == "foo");
    CHECK(base64_decode("Zm9vYg==") == "foob");
    CHECK_FALSE(base64_decode("Zm9"));
    CHECK_FALSE(base64_decode("Zm9*"));
}

TEST_CASE("base64 into a caller's buffer matches the allocating encoder and checks the room") {
    std::string bytes;
    for (int n = 0; n < 70; ++n) {
        std::vector<char> buffer(base64_size(bytes.size()));
        CHECK(base64_encode(bytes, buffer) == base64_encode(bytes));
        bytes += static_cast<char>(n * 37 + 1);
    }
    std::array<char, 9> small;
    CHECK(base64_encode("abcde"sv, small) == "YWJjZGU=");
    CHECK_THROWS_AS(base64_encode("abcdefg"sv, small), std::length_error);
}

TEST_CASE("dates are RFC 5322 and ISO 8601 in UTC") {
    CHECK(rfc5322_date(0) == "Thu, 1 Jan 1970 00:00:00 +0000");
    CHECK(rfc5322_date(1795555860) == "Tue, 24 Nov 2026 21:31:00 +0000");
    CHECK(iso8601(1795555860) == "2026-11-24T21:31:00Z");
}

TEST_CASE("log lines escape control characters so clients cannot forge lines") {
    using namespace outpost::log;
    auto line = render(
        format::logfmt, level::info, "T", "smtp.command",
        {{"helo", "evil\r\nlevel=error"}, {"n", 3}}
    );
    CHECK(line == "ts=T level=info event=smtp.command helo=\"evil\\r\\nlevel=error\" n=3\n");
    auto json = render(format::json, level::warn, "T", "x", {{"k", "a\"b"}});
    CHECK(json == "{\"ts\":\"T\",\"level\":\"warn\",\"event\":\"x\",\"k\":\"a\\\"b\"}\n");
}

TEST_CASE("split_tabs treats a run of tabs as one separator") {
    using V = std::vector<std::string_view>;
    CHECK(outpost::util::split_tabs("a\tb\t\t\tc") == V{"a", "b", "c"});
    CHECK(outpost::util::split_tabs("one") == V{"one"});
    CHECK(outpost::util::split_tabs("a\t") == V{"a", ""});
}

TEST_CASE("valid_utf8 follows RFC 3629: no overlong forms, surrogates or code points past U+10FFFF"
) {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("plain"));
    CHECK(valid_utf8("j\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x93\xa7"));
    CHECK_FALSE(valid_utf8("\xff\xfe"));
    CHECK_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(valid_utf8("\xc3"));              // cut short
    CHECK(printable_ascii("a\x1b[1m\x7f\xc3\xb6\tb") == "a\\x1b[1m\\x7f\\xc3\\xb6\\x09b");
}

TEST_CASE("log lines escape what is not well-formed UTF-8, so JSON logs stay valid") {
    using namespace outpost;
    auto json = log::render(
        log::format::json, log::level::info, "T", "e",
        {{"from", std::string("\xff\xfe@x\x1b") + "\xc3\xb6"}}
    );
    CHECK(json.find("\\\\xff\\\\xfe@x\\u001b\xc3\xb6") != std::string::npos);
    CHECK(valid_utf8(json));
    auto text = log::render(log::format::logfmt, log::level::info, "T", "e", {{"from", "\xff"}});
    CHECK(text.find("from=\"\\xff\"") != std::string::npos);
}
