// The DATA and BDAT content readers (core/smtp/data_decoder.hpp). Byte 0 picks the limits and the
// read size; the rest is the stream after DATA's 354 (or the BDAT chunks).
#include "core/smtp/data_decoder.hpp"

#include <string>

#include "tests/fuzz/fuzz.hpp"

using namespace outpost;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    const std::uint8_t control = data[0];
    const auto in = fuzz::as_text(data + 1, size - 1);
    const std::uint64_t max_size = (control & 0x80) ? 64 : 1 << 20;
    const std::size_t max_line = (control & 0x40) ? 16 : 998;
    const std::size_t chunk = (control & 0x3f) + 1u;

    // DATA: fed a chunk at a time, as the session gets it.
    smtp::data_decoder d(max_size, max_line);
    std::string out;
    std::size_t pos = 0;
    while (pos < in.size() && !d.finished()) {
        auto piece = in.substr(pos, std::min(chunk, in.size() - pos));
        auto used = d.feed(piece, out);
        FUZZ_CHECK(used <= piece.size());
        FUZZ_CHECK(used == piece.size() || d.finished());
        pos += used;
    }
    FUZZ_CHECK(out.size() <= max_size);
    FUZZ_CHECK(d.size() >= out.size());
    if (d.finished()) {
        // The terminator is CRLF.CRLF and nothing after it was taken.
        FUZZ_CHECK(in.substr(0, pos).ends_with("\r\n.\r\n") || in.substr(0, pos) == ".\r\n");
        if (d.problem() == smtp::data_problem::none)
            FUZZ_CHECK(fuzz::crlf_lines_only(out));
    }
    // The same stream in one piece is read the same way.
    smtp::data_decoder whole(max_size, max_line);
    std::string out2;
    auto used = whole.feed(in, out2);
    FUZZ_CHECK(used == pos || (!whole.finished() && !d.finished()));
    FUZZ_CHECK(whole.finished() == d.finished());
    FUZZ_CHECK(out2 == out);
    FUZZ_CHECK(whole.problem() == d.problem());

    // BDAT: the same bytes as chunks of the chosen size.
    smtp::chunk_checker c(max_size, max_line);
    std::string chunks;
    for (std::size_t p = 0; p < in.size(); p += chunk)
        c.feed(in.substr(p, std::min(chunk, in.size() - p)), chunks);
    c.finish();
    FUZZ_CHECK(chunks.size() <= max_size);
    if (c.problem() == smtp::data_problem::none) {
        FUZZ_CHECK(chunks == in);
        FUZZ_CHECK(fuzz::crlf_lines_only(chunks));
    }
    return 0;
}
