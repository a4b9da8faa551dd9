// Decodes the DATA stream: dot-unstuffing, the CRLF.CRLF terminator, and the checks that stop
// SMTP smuggling (bare CR or LF), NUL bytes, overlong lines and oversize messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace outpost::smtp {

// The first thing wrong with a message; the decoder keeps reading to the terminator regardless,
// so the connection stays in step with the client.
enum class data_problem { none, too_big, bare_line_ending, nul, line_too_long };

class data_decoder {
public:
    data_decoder(std::uint64_t max_size, std::size_t max_line_length);

    // Consumes bytes up to and including the terminating CRLF.CRLF (never beyond it), appending
    // the unstuffed content to out while it fits in max_size. Returns the bytes consumed.
    // RFC 5321 §4.1.1.4: the terminator is only CRLF "." CRLF. A bare LF or bare CR anywhere is a
    // problem and never starts a line, so "\n.\n", "\n.\r\n", "\r.\r" and friends end nothing.
    std::size_t feed(std::string_view in, std::string& out);

    bool finished() const { return state_ == state::done; }

    data_problem problem() const { return problem_; }

    std::uint64_t size() const { return size_; }

private:
    enum class state { line_start, dot, dot_cr, text, cr, done };

    void flag(data_problem p) {
        if (problem_ == data_problem::none)
            problem_ = p;
    }

    void emit(std::string& out, char c);
    void emit_text(std::string& out, std::string_view text);

    std::uint64_t max_size_;
    std::size_t max_line_;
    std::uint64_t size_ = 0;
    std::size_t line_length_ = 0;
    state state_ = state::line_start;
    data_problem problem_ = data_problem::none;
};

// Checks BDAT chunks (RFC 3030), which carry no dot-stuffing: bare CR or LF and NUL are refused
// there too, so no message with them is ever relayed into a DATA transaction elsewhere.
class chunk_checker {
public:
    chunk_checker(std::uint64_t max_size, std::size_t max_line_length);

    // Appends chunk to out while the total fits in max_size.
    void feed(std::string_view chunk, std::string& out);
    // Call after the LAST chunk: a trailing CR is a bare CR.
    void finish();

    data_problem problem() const { return problem_; }

    std::uint64_t size() const { return size_; }

private:
    void flag(data_problem p) {
        if (problem_ == data_problem::none)
            problem_ = p;
    }

    std::uint64_t max_size_;
    std::size_t max_line_;
    std::uint64_t size_ = 0;
    std::size_t line_length_ = 0;
    bool pending_cr_ = false;
    data_problem problem_ = data_problem::none;
};

}  // namespace outpost::smtp
