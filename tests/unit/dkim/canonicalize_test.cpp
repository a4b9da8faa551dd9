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

// The body is read in blocks where it can; long bodies of mostly text, the odd 8-bit or control
// byte, buffers of every small size and l= limits exercise block edges and resumption.
TEST_CASE("long bodies match the reference, read in pieces of any size and cut at any l=") {
    std::mt19937 rng(20261125);
    const std::string_view alphabet = "abcdefghij \t\r\n\x01\x0b\x1f\x7f\x80\xc3\xff  ";
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::uniform_int_distribution<int> percent(0, 99);
    std::uniform_int_distribution<int> length(0, 400);
    std::uniform_int_distribution<std::size_t> piece(2, 70);
    for (int round = 0; round < 4000; ++round) {
        std::string body;
        int n = length(rng);
        int text = percent(rng);  // how much of the body is plain letters
        for (int i = 0; i < n; ++i) {
            int p = percent(rng);
            if (p < 4)
                body += "\r\n";
            else if (p < text)
                body += static_cast<char>('k' + p % 16);
            else
                body += alphabet[pick(rng)];
        }
        // An allocation of exactly the body's size, so that a sanitizer sees any read past it.
        std::vector<char> exact(body.begin(), body.end());
        std::string_view view(exact.data(), exact.size());
        for (auto c : {canonicalization::simple, canonicalization::relaxed}) {
            INFO("body: ", body, " canon: ", dkim::to_string(c));
            auto expected = reference_body(c, body);
            REQUIRE(dkim::canonical_body(c, view) == expected);
            // Every read fills what it can and no more than it was given.
            std::size_t size = piece(rng);
            std::vector<char> buffer(size);
            std::string pieces;
            dkim::body_canonicalizer canon(c, view);
            while (std::size_t got = canon.read(buffer)) {
                REQUIRE(got <= size);
                pieces.append(buffer.data(), got);
            }
            REQUIRE(pieces == expected);
            std::uniform_int_distribution<std::size_t> cut(0, expected.size() + 2);
            std::size_t limit = cut(rng);
            REQUIRE(
                dkim::detail::body_hash(c, view, limit) ==
                dkim::sha256(std::string_view(expected).substr(0, limit))
            );
        }
    }
}

namespace {

// §3.4.2 for one field written the obvious way, character by character.
std::string reference_relaxed_field(std::string_view name, std::string_view value) {
    std::string out;
    for (char ch : name)
        out += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    out += ':';
    std::string unfolded;
    for (char ch : value)
        if (ch != '\r' && ch != '\n')
            unfolded += ch;
    std::string squeezed;
    for (std::size_t i = 0; i < unfolded.size();) {
        if (wsp(unfolded[i])) {
            while (i < unfolded.size() && wsp(unfolded[i]))
                ++i;
            squeezed += ' ';
        } else {
            squeezed += unfolded[i++];
        }
    }
    while (!squeezed.empty() && squeezed.front() == ' ')
        squeezed.erase(0, 1);
    while (!squeezed.empty() && squeezed.back() == ' ')
        squeezed.pop_back();
    return out + squeezed;
}

}  // namespace

TEST_CASE("relaxed header fields match the reference on random long values") {
    std::mt19937 rng(20261126);
    const std::string_view alphabet = "abcXYZ;=:@ \t\r\n\x01\x80\xff";
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::uniform_int_distribution<int> percent(0, 99);
    std::uniform_int_distribution<int> length(0, 120);
    for (int round = 0; round < 10000; ++round) {
        std::string value;
        int n = length(rng);
        for (int i = 0; i < n; ++i) {
            int p = percent(rng);
            if (p < 5)
                value += "\r\n ";
            else if (p < 60)
                value += static_cast<char>('a' + p % 26);
            else
                value += alphabet[pick(rng)];
        }
        INFO("value: ", value);
        // Allocations of exactly the text's size, so that a sanitizer sees any read past it.
        std::string text = "X-Test-Field:" + value;
        std::vector<char> exact(text.begin(), text.end());
        std::string_view field(exact.data(), exact.size());
        std::string out;
        dkim::canonicalize_header_text(canonicalization::relaxed, field, out);
        REQUIRE(out == reference_relaxed_field("X-Test-Field", value));
        out.clear();
        std::vector<char> exact_value(value.begin(), value.end());
        std::string raw = text + "\r\n";
        dkim::canonicalize_header(
            canonicalization::relaxed,
            message::header_field{
                "X-Test-Field", raw, std::string_view(exact_value.data(), exact_value.size())},
            out
        );
        REQUIRE(out == reference_relaxed_field("X-Test-Field", value) + "\r\n");
    }
}
