#include "core/smtp/data_decoder.hpp"

#include <algorithm>

namespace outpost::smtp {

namespace {

// How many bytes from the start of s are plain text: no CR, LF or NUL. One pass that stops at the
// first of them (a memchr per stop byte would scan to the next CR each time, which a stream of
// bare LFs without a CR makes quadratic).
std::size_t plain_run(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) {
        if (c == '\r' || c == '\n' || c == '\0')
            break;
        ++n;
    }
    return n;
}

}  // namespace

data_decoder::data_decoder(std::uint64_t max_size, std::size_t max_line_length)
    : max_size_(max_size), max_line_(max_line_length) {}

void data_decoder::emit(std::string& out, char c) {
    ++size_;
    if (size_ > max_size_) {
        flag(data_problem::too_big);
        return;
    }
    out.push_back(c);
}

// The middle of a line in one piece: what emit() would do for each byte, without a call per byte.
// When both limits are crossed in it, the one crossed at the earlier byte is the problem, as it
// would be byte by byte (at the same byte the line's length is checked first).
void data_decoder::emit_text(std::string& out, std::string_view text) {
    const std::uint64_t n = text.size();
    const bool line_over = line_length_ + n > max_line_;
    const bool size_over = size_ + n > max_size_;
    const std::uint64_t line_at =
        line_over && line_length_ < max_line_ ? max_line_ - line_length_ : 0;
    const std::uint64_t size_at = size_over && size_ < max_size_ ? max_size_ - size_ : 0;
    if (line_over && (!size_over || line_at <= size_at))
        flag(data_problem::line_too_long);
    if (size_over)
        flag(data_problem::too_big);
    if (line_over)
        flag(data_problem::line_too_long);
    if (size_ < max_size_)
        out.append(text.substr(0, static_cast<std::size_t>(std::min(n, max_size_ - size_))));
    line_length_ += text.size();
    size_ += n;
}

std::size_t data_decoder::feed(std::string_view in, std::string& out) {
    std::size_t i = 0;
    while (i < in.size() && state_ != state::done) {
        if (state_ == state::text) {
            if (auto run = plain_run(in.substr(i)); run > 0) {
                emit_text(out, in.substr(i, run));
                i += run;
                continue;
            }
        }
        char c = in[i++];
        if (c == '\0')
            flag(data_problem::nul);
        switch (state_) {
            case state::line_start:
                line_length_ = 0;
                if (c == '.') {
                    state_ = state::dot;
                    continue;
                }
                state_ = state::text;
                break;
            case state::dot:
                if (c == '\r') {
                    state_ = state::dot_cr;
                    continue;
                }
                // RFC 5321 §4.5.2: a leading dot is removed; the rest of the line is text.
                state_ = state::text;
                break;
            case state::dot_cr:
                if (c == '\n') {
                    state_ = state::done;
                    continue;
                }
                // ".\r" then something other than LF: the CR was bare.
                flag(data_problem::bare_line_ending);
                emit(out, '\r');
                state_ = state::text;
                break;
            case state::cr:
                if (c == '\n') {
                    emit(out, '\n');
                    state_ = state::line_start;
                    continue;
                }
                flag(data_problem::bare_line_ending);
                state_ = state::text;
                break;
            case state::text:
            case state::done:
                break;
        }
        // c is message text in the middle of a line.
        if (c == '\r') {
            emit(out, c);
            state_ = state::cr;
            continue;
        }
        if (c == '\n') {
            // A bare LF: refused, and deliberately not a line start.
            flag(data_problem::bare_line_ending);
            emit(out, c);
            continue;
        }
        if (++line_length_ > max_line_)
            flag(data_problem::line_too_long);
        emit(out, c);
    }
    return i;
}

chunk_checker::chunk_checker(std::uint64_t max_size, std::size_t max_line_length)
    : max_size_(max_size), max_line_(max_line_length) {}

void chunk_checker::feed(std::string_view chunk, std::string& out) {
    for (char c : chunk) {
        if (c == '\0')
            flag(data_problem::nul);
        if (pending_cr_) {
            pending_cr_ = false;
            if (c == '\n') {
                line_length_ = 0;
                continue;
            }
            flag(data_problem::bare_line_ending);
        }
        if (c == '\r')
            pending_cr_ = true;
        else if (c == '\n')
            flag(data_problem::bare_line_ending);
        else if (++line_length_ > max_line_)
            flag(data_problem::line_too_long);
    }
    size_ += chunk.size();
    if (size_ > max_size_) {
        flag(data_problem::too_big);
        return;
    }
    out.append(chunk);
}

void chunk_checker::finish() {
    if (pending_cr_)
        flag(data_problem::bare_line_ending);
}

}  // namespace outpost::smtp
