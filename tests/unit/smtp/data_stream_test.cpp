// The DATA decoder and the dot-stuffer copy text a run at a time; these tests hold them to the
// byte-at-a-time definitions below (RFC 5321 §4.5.2 written the plainest way) on random streams
// made of the bytes that matter (dots, CR, LF, NUL) cut into random pieces, with limits that
// are crossed inside runs, at their ends and across pieces.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "core/smtp/client.hpp"
#include "core/smtp/data_decoder.hpp"

using namespace outpost::smtp;

namespace {

// The decoder as a state machine fed one byte at a time.
struct reference_decoder {
    std::uint64_t max_size;
    std::size_t max_line;
    std::uint64_t size = 0;
    std::size_t line_length = 0;
    enum class state { line_start, dot, dot_cr, text, cr, done } st = state::line_start;
    data_problem problem = data_problem::none;

    void flag(data_problem p) {
        if (problem == data_problem::none)
            problem = p;
    }

    void emit(std::string& out, char c) {
        if (++size > max_size)
            flag(data_problem::too_big);
        else
            out.push_back(c);
    }

    // Whether the byte was taken (everything is until the terminator has been read).
    bool feed(char c, std::string& out) {
        if (st == state::done)
            return false;
        if (c == '\0')
            flag(data_problem::nul);
        switch (st) {
            case state::line_start:
                line_length = 0;
                if (c == '.') {
                    st = state::dot;
                    return true;
                }
                break;
            case state::dot:
                if (c == '\r') {
                    st = state::dot_cr;
                    return true;
                }
                break;
            case state::dot_cr:
                if (c == '\n') {
                    st = state::done;
                    return true;
                }
                flag(data_problem::bare_line_ending);
                emit(out, '\r');
                break;
            case state::cr:
                if (c == '\n') {
                    emit(out, '\n');
                    st = state::line_start;
                    return true;
                }
                flag(data_problem::bare_line_ending);
                break;
            default:
                break;
        }
        st = state::text;
        if (c == '\r') {
            emit(out, c);
            st = state::cr;
        } else if (c == '\n') {
            flag(data_problem::bare_line_ending);
            emit(out, c);
        } else {
            if (++line_length > max_line)
                flag(data_problem::line_too_long);
            emit(out, c);
        }
        return true;
    }
};

std::string reference_stuff(std::string_view message) {
    std::string out;
    bool line_start = true;
    for (char c : message) {
        if (line_start && c == '.')
            out += '.';
        out += c;
        line_start = c == '\n';
    }
    if (!message.empty() && message.back() != '\n')
        out += message.back() == '\r' ? "\n" : "\r\n";
    return out + ".\r\n";
}

// Mostly text with the bytes that change state; lines long enough to cross a small limit.
std::string random_stream(std::mt19937& rng, std::size_t length) {
    static constexpr std::string_view common = "aaaaaaaaaaaaaaaa..\r\n\r\n\r\n";
    static constexpr std::string_view rare{"\r\n\0x", 4};
    std::string s;
    for (std::size_t i = 0; i < length; ++i) {
        auto pick = rng() % 100;
        s += pick < 97 ? common[rng() % common.size()] : rare[rng() % rare.size()];
    }
    return s;
}

}  // namespace

TEST_CASE("the DATA decoder reads random streams as the byte-at-a-time definition does") {
    std::mt19937 rng(20261207);
    for (int round = 0; round < 20000; ++round) {
        auto in = random_stream(rng, rng() % 300);
        if (round % 3 == 0)
            in += "\r\n.\r\n" + random_stream(rng, 5);  // a terminator, and bytes after it
        const std::uint64_t max_size = 1 + rng() % 200;
        const std::size_t max_line = 1 + rng() % 40;
        const std::size_t piece = 1 + rng() % 64;
        CAPTURE(round);

        data_decoder d(max_size, max_line);
        std::string out;
        std::size_t taken = 0;
        while (taken < in.size() && !d.finished())
            taken += d.feed(std::string_view(in).substr(taken, piece), out);

        reference_decoder ref{max_size, max_line};
        std::string ref_out;
        std::size_t ref_taken = 0;
        while (ref_taken < in.size() && ref.feed(in[ref_taken], ref_out))
            ++ref_taken;

        REQUIRE(taken == ref_taken);
        REQUIRE(out == ref_out);
        REQUIRE(d.problem() == ref.problem);
        REQUIRE(d.size() == ref.size);
        REQUIRE(d.finished() == (ref.st == reference_decoder::state::done));
    }
}

TEST_CASE("the DATA decoder names the limit crossed first inside one run of text") {
    // Line limit 4, size limit 10: the sixth byte of the line is already too long.
    data_decoder line_first(10, 4);
    std::string out;
    line_first.feed("abcdefgh", out);
    CHECK(line_first.problem() == data_problem::line_too_long);
    CHECK(out == "abcdefgh");

    // Size limit 3, line limit 998: too big, and only what fits is kept.
    data_decoder size_first(3, 998);
    out.clear();
    size_first.feed("abcdefgh", out);
    CHECK(size_first.problem() == data_problem::too_big);
    CHECK(out == "abc");
    CHECK(size_first.size() == 8);

    // Both crossed at the same byte: the line's length is checked first.
    data_decoder same_byte(4, 4);
    out.clear();
    same_byte.feed("abcde", out);
    CHECK(same_byte.problem() == data_problem::line_too_long);
}

TEST_CASE("the dot-stuffer stuffs random messages as the byte-at-a-time definition does") {
    std::mt19937 rng(7122026);
    for (int round = 0; round < 20000; ++round) {
        auto message = random_stream(rng, rng() % 300);
        const std::size_t piece = 1 + rng() % 64;
        CAPTURE(round);
        dot_stuffer s;
        std::string out;
        for (std::size_t at = 0; at < message.size(); at += piece)
            s.put(std::string_view(message).substr(at, piece), out);
        s.finish(out);
        REQUIRE(out == reference_stuff(message));
    }
}
