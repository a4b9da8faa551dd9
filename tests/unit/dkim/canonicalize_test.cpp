// Unit tests for DKIM canonicalization (RFC 6376 §3.4), including the §3.4.5 examples and a
// comparison with a line-by-line reference implementation on random bodies.
#include "core/dkim/detail/canonicalize.hpp"

#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "core/dkim/detail/signature.hpp"
#include "core/message/header.hpp"

using namespace outpost;
using dkim::canonicalization;

namespace {

std::string headers(canonicalization c, std::string_view text) {
    auto h = message::parse_header(text);
    std::string out;
    for (const auto& f : h.fields)
        dkim::canonicalize_header(c, f, out);
    return out;
}

bool wsp(char c) {
    return c == ' ' || c == '\t';
}

// RFC 6376 §3.4.3 and §3.4.4 written the obvious way: split into lines, edit each, then drop
// trailing empty lines.
std::string reference_body(canonicalization c, std::string_view body) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    bool last_has_crlf = true;
    while (pos < body.size()) {
        auto crlf = body.find("\r\n", pos);
        if (crlf == std::string_view::npos) {
            lines.emplace_back(body.substr(pos));
            last_has_crlf = false;
            break;
        }
        lines.emplace_back(body.substr(pos, crlf - pos));
        pos = crlf + 2;
    }
    (void)last_has_crlf;  // both canonicalizations end every line in CRLF
    if (c == canonicalization::relaxed) {
        for (auto& line : lines) {
            std::string edited;
            for (std::size_t i = 0; i < line.size();) {
                if (wsp(line[i])) {
                    while (i < line.size() && wsp(line[i]))
                        ++i;
                    edited += ' ';
                } else {
                    edited += line[i++];
                }
            }
            while (!edited.empty() && edited.back() == ' ')
                edited.pop_back();
            line = edited;
        }
    }
    while (!lines.empty() && lines.back().empty())
        lines.pop_back();
    std::string out;
    for (const auto& line : lines)
        out += line + "\r\n";
    if (out.empty() && c == canonicalization::simple)
        out = "\r\n";
    return out;
}

}  // namespace

TEST_CASE("RFC 6376 §3.4.5 example, relaxed") {
    std::string_view msg =
        "A: X\r\n"
        "B : Y\t\r\n"
        "\tZ  \r\n"
        "\r\n"
        " C \r\n"
        "D \t E\r\n"
        "\r\n"
        "\r\n";
    auto h = message::parse_header(msg);
    auto body = msg.substr(h.body_offset);
    CHECK(headers(canonicalization::relaxed, msg) == "a:X\r\nb:Y Z\r\n");
    CHECK(dkim::canonical_body(canonicalization::relaxed, body) == " C\r\nD E\r\n");
}

TEST_CASE("RFC 6376 §3.4.5 example, simple") {
    std::string_view msg =
        "A: X\r\n"
        "B : Y\t\r\n"
        "\tZ  \r\n"
        "\r\n"
        " C \r\n"
        "D \t E\r\n"
        "\r\n"
        "\r\n";
    auto h = message::parse_header(msg);
    auto body = msg.substr(h.body_offset);
    CHECK(headers(canonicalization::simple, msg) == "A: X\r\nB : Y\t\r\n\tZ  \r\n");
    CHECK(dkim::canonical_body(canonicalization::simple, body) == " C \r\nD \t E\r\n");
}

TEST_CASE("an empty body is CRLF under simple and empty under relaxed") {
    CHECK(dkim::canonical_body(canonicalization::simple, "") == "\r\n");
    CHECK(dkim::canonical_body(canonicalization::relaxed, "") == "");
    CHECK(dkim::canonical_body(canonicalization::simple, "\r\n\r\n") == "\r\n");
    CHECK(dkim::canonical_body(canonicalization::relaxed, "\r\n\r\n") == "");
    CHECK(dkim::canonical_body(canonicalization::relaxed, " \t\r\n \r\n\t") == "");
}

TEST_CASE("a body without a final CRLF gets one") {
    CHECK(dkim::canonical_body(canonicalization::simple, "abc") == "abc\r\n");
    CHECK(dkim::canonical_body(canonicalization::relaxed, "abc") == "abc\r\n");
    CHECK(dkim::canonical_body(canonicalization::simple, "a\r\nbc  ") == "a\r\nbc  \r\n");
    CHECK(dkim::canonical_body(canonicalization::relaxed, "a\r\nbc  ") == "a\r\nbc\r\n");
}

TEST_CASE("trailing empty lines are removed, inner ones kept") {
    std::string_view body = "a\r\n\r\nb\r\n\r\n\r\n\r\n";
    CHECK(dkim::canonical_body(canonicalization::simple, body) == "a\r\n\r\nb\r\n");
    CHECK(dkim::canonical_body(canonicalization::relaxed, body) == "a\r\n\r\nb\r\n");
}

TEST_CASE("lines of only WSP at the end go under relaxed but stay under simple") {
    std::string_view body = "a\r\n  \r\n\t\r\n";
    CHECK(dkim::canonical_body(canonicalization::simple, body) == "a\r\n  \r\n\t\r\n");
    CHECK(dkim::canonical_body(canonicalization::relaxed, body) == "a\r\n");
}

TEST_CASE("relaxed body removes trailing WSP and reduces WSP runs to one SP") {
    CHECK(dkim::canonical_body(canonicalization::relaxed, "a \t b\t\r\n") == "a b\r\n");
    CHECK(dkim::canonical_body(canonicalization::relaxed, "\tlead\r\n") == " lead\r\n");
    CHECK(dkim::canonical_body(canonicalization::relaxed, "x \r\n \r\ny\r\n") == "x\r\n\r\ny\r\n");
    // A bare CR or LF is an ordinary byte, so WSP before it is not at a line end.
    CHECK(dkim::canonical_body(canonicalization::relaxed, "a \nb") == "a \nb\r\n");
    CHECK(dkim::canonical_body(canonicalization::relaxed, "a  \rb") == "a \rb\r\n");
}

TEST_CASE("relaxed headers: lower-case names, unfolded values, no WSP around the colon") {
    CHECK(
        headers(canonicalization::relaxed, "SUBJECT:   Hello  \t World \r\n\r\n") ==
        "subject:Hello World\r\n"
    );
    CHECK(
        headers(canonicalization::relaxed, "Subject:\r\n folded\r\n\tmore\r\n\r\n") ==
        "subject:folded more\r\n"
    );
    CHECK(headers(canonicalization::relaxed, "X-Empty:\r\n\r\n") == "x-empty:\r\n");
    CHECK(headers(canonicalization::relaxed, "X-Blank:   \r\n\r\n") == "x-blank:\r\n");
    CHECK(
        headers(canonicalization::relaxed, "Subject: caf\xc3\xa9\r\n\r\n") ==
        "subject:caf\xc3\xa9\r\n"
    );
}

TEST_CASE("simple headers are unchanged; a bare LF line end hashes as CRLF") {
    CHECK(
        headers(canonicalization::simple, "SubJect:  a\r\n b \r\n\r\n") == "SubJect:  a\r\n b \r\n"
    );
    CHECK(headers(canonicalization::simple, "Subject: a\n\n") == "Subject: a\r\n");
}

TEST_CASE("the signature's own field is canonicalized without a final CRLF") {
    std::string out;
    dkim::canonicalize_header_text(
        canonicalization::relaxed, "DKIM-Signature: v=1;\r\n  a=rsa-sha256; b=", out
    );
    CHECK(out == "dkim-signature:v=1; a=rsa-sha256; b=");
    out.clear();
    dkim::canonicalize_header_text(canonicalization::simple, "DKIM-Signature: v=1; b=", out);
    CHECK(out == "DKIM-Signature: v=1; b=");
}

TEST_CASE("streaming body canonicalization matches the reference on random bodies") {
    std::mt19937 rng(20261124);
    const char alphabet[] = {' ', '\t', '\r', '\n', 'a', 'b'};
    std::uniform_int_distribution<int> pick(0, 5);
    std::uniform_int_distribution<int> length(0, 40);
    for (int round = 0; round < 20000; ++round) {
        std::string body;
        int n = length(rng);
        for (int i = 0; i < n; ++i) {
            // CRLF pairs are common in real bodies; make them likely.
            if (pick(rng) == 0)
                body += "\r\n";
            else
                body += alphabet[pick(rng)];
        }
        for (auto c : {canonicalization::simple, canonicalization::relaxed}) {
            INFO("body: ", body, " canon: ", dkim::to_string(c));
            REQUIRE(dkim::canonical_body(c, body) == reference_body(c, body));
            REQUIRE(dkim::detail::body_hash(c, body) == dkim::sha256(reference_body(c, body)));
        }
    }
}
