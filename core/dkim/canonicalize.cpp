// DKIM simple and relaxed canonicalization of header fields and bodies (RFC 6376 §3.4).
#include "core/dkim/detail/canonicalize.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "core/util/text.hpp"

namespace outpost::dkim {

namespace {

bool is_wsp(char ch) {
    return ch == ' ' || ch == '\t';
}

// One past the last byte that survives the removal of trailing WSP and empty lines: trailing CRLF
// pairs for simple, trailing CRLF pairs and WSP for relaxed.
std::size_t body_end(canonicalization c, std::string_view body) {
    std::size_t end = body.size();
    while (end > 0) {
        if (end >= 2 && body[end - 2] == '\r' && body[end - 1] == '\n')
            end -= 2;
        else if (c == canonicalization::relaxed && is_wsp(body[end - 1]))
            --end;
        else
            break;
    }
    return end;
}

// Relaxed body canonicalization in progress (§3.4.4): body bytes p[i, end) still to read, out[0,
// size) with used bytes written. Invariants: i never falls inside a WSP run, and p[end - 1] is not
// WSP, so a WSP byte before end always has a successor before end.
struct relaxed_cursor {
    const char* p;
    std::size_t i;
    std::size_t end;
    char* out;
    std::size_t used;
    std::size_t size;
};

// Whether something may change at p[0]: a TAB, or an SP followed by SP, TAB, CR (or, to keep the
// test cheap, any other byte up to SP). A single SP before anything else always stays. Reads p[1]
// only when p[0] is SP.
inline bool may_change(const char* p) {
    return p[0] == '\t' || (p[0] == ' ' && static_cast<unsigned char>(p[1]) <= ' ');
}

// The WSP run at p[i] (where may_change): one SP, or nothing before a CRLF. Writes at most one
// byte.
inline void squeeze_run(
    const char* p, std::size_t& i, std::size_t end, char* out, std::size_t& used
) {
    std::size_t j = i + 1;
    while (j < end && is_wsp(p[j]))
        ++j;
    bool at_line_end = p[j] == '\r' && j + 1 < end && p[j + 1] == '\n';
    if (!at_line_end)
        out[used++] = ' ';
    i = j;
}

// Byte by byte, to the end of the input or of the output.
void relaxed_bytes(relaxed_cursor& c) {
    while (c.i < c.end && c.used < c.size) {
        if (may_change(c.p + c.i))
            squeeze_run(c.p, c.i, c.end, c.out, c.used);
        else
            c.out[c.used++] = c.p[c.i++];
    }
}

// Most of a body passes unchanged, so it is copied a block at a time, each block tested for
// bytes that may_change with the block one byte on (so 17 or 33 bytes are read, 16 or 32
// written). Runs found are squeezed on the spot; what is left is for relaxed_bytes.
void relaxed_blocks_sse2(relaxed_cursor& c) {
#if defined(__SSE2__)
    const char* p = c.p;
    std::size_t i = c.i;
    std::size_t used = c.used;
    const __m128i sp = _mm_set1_epi8(' ');
    const __m128i tab = _mm_set1_epi8('\t');
    while (i + 17 <= c.end && c.size - used >= 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
        const __m128i b_low = _mm_cmpeq_epi8(_mm_min_epu8(b, sp), b);
        const __m128i hit =
            _mm_or_si128(_mm_cmpeq_epi8(a, tab), _mm_and_si128(_mm_cmpeq_epi8(a, sp), b_low));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(c.out + used), a);
        int mask = _mm_movemask_epi8(hit);
        if (mask == 0) {
            i += 16;
            used += 16;
            continue;
        }
        auto k = static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(mask)));
        i += k;
        used += k;
        squeeze_run(p, i, c.end, c.out, used);
    }
    c.i = i;
    c.used = used;
#else
    (void)c;
#endif
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OUTPOST_DKIM_AVX2 1

// The same 32 bytes at a time, for CPUs with AVX2 (chosen at run time), then 16 at a time.
__attribute__((target("avx2"))) void relaxed_blocks_avx2(relaxed_cursor& c) {
    const char* p = c.p;
    std::size_t i = c.i;
    std::size_t used = c.used;
    const __m256i sp = _mm256_set1_epi8(' ');
    const __m256i tab = _mm256_set1_epi8('\t');
    while (i + 33 <= c.end && c.size - used >= 32) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 1));
        const __m256i b_low = _mm256_cmpeq_epi8(_mm256_min_epu8(b, sp), b);
        const __m256i hit = _mm256_or_si256(
            _mm256_cmpeq_epi8(a, tab), _mm256_and_si256(_mm256_cmpeq_epi8(a, sp), b_low)
        );
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(c.out + used), a);
        int mask = _mm256_movemask_epi8(hit);
        if (mask == 0) {
            i += 32;
            used += 32;
            continue;
        }
        auto k = static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(mask)));
        i += k;
        used += k;
        squeeze_run(p, i, c.end, c.out, used);
    }
    c.i = i;
    c.used = used;
    relaxed_blocks_sse2(c);
}
#endif

using relaxed_blocks_fn = void (*)(relaxed_cursor&);

relaxed_blocks_fn pick_relaxed_blocks() {
#if defined(OUTPOST_DKIM_AVX2)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return relaxed_blocks_avx2;
#endif
    return relaxed_blocks_sse2;
}

// SP, TAB, CR and LF: what relaxed header canonicalization unfolds and squeezes (§3.4.2).
bool is_fold(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

#if defined(__SSE2__)
// Bytes at most SP: SP, TAB, CR, LF and other controls.
__m128i at_most_sp(__m128i v) {
    return _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(' ')), v);
}

// Copies the 16 bytes at in to out and returns a mask with bit k set when in[k] may change in a
// relaxed header value: any byte up to SP but SP itself (TAB, CR, LF, controls), or SP followed by
// one. Reads 17 bytes.
unsigned copy_header_block(const char* in, char* out) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 1));
    const __m128i a_sp = _mm_cmpeq_epi8(a, _mm_set1_epi8(' '));
    const __m128i hit =
        _mm_or_si128(_mm_andnot_si128(a_sp, at_most_sp(a)), _mm_and_si128(a_sp, at_most_sp(b)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), a);
    return static_cast<unsigned>(_mm_movemask_epi8(hit));
}
#endif

// Writes the relaxed value (§3.4.2) of value at w and returns one past its end: unfolded, WSP runs
// as one SP, no WSP at either end. Writes only within w[0, value.size()).
char* write_relaxed_value(std::string_view value, char* w) {
    const char* p = value.data();
    std::size_t i = 0;
    std::size_t end = value.size();
    while (i < end && is_fold(p[i]))
        ++i;
    while (end > i && is_fold(p[end - 1]))
        --end;
    // Now p[end - 1] is no fold byte, so every run of them inside ends before end. Unchanged text
    // goes 16 bytes at a time; output never gets ahead of input, so the stores stay in bounds.
    while (true) {
#if defined(__SSE2__)
        while (i + 17 <= end) {
            unsigned mask = copy_header_block(p + i, w);
            if (mask != 0) {
                auto k = static_cast<std::size_t>(std::countr_zero(mask));
                i += k;
                w += k;
                break;
            }
            i += 16;
            w += 16;
        }
#endif
        if (i >= end)
            break;
        char ch = p[i];
        if (!is_fold(ch) || (ch == ' ' && !is_fold(p[i + 1]))) {
            *w++ = ch;
            ++i;
            continue;
        }
        // A run of SP, TAB, CR, LF: one SP if it holds WSP; a bare line break unfolds to nothing.
        bool wsp = false;
        for (; is_fold(p[i]); ++i)
            wsp = wsp || is_wsp(p[i]);
        if (wsp)
            *w++ = ' ';
    }
    return w;
}

// Writes "name:" + relaxed value (+ CRLF) at w, the name lower-cased; returns one past the end.
char* write_relaxed_field(std::string_view name, std::string_view value, bool crlf, char* w) {
    for (char ch : name)
        *w++ = util::ascii_lower(ch);
    *w++ = ':';
    w = write_relaxed_value(value, w);
    if (crlf) {
        *w++ = '\r';
        *w++ = '\n';
    }
    return w;
}

// Appends what write(w) writes, at most bound bytes, to out.
template <class Write>
void append_written(std::string& out, std::size_t bound, Write write) {
    std::size_t start = out.size();
    out.resize(start + bound);
    char* end = write(out.data() + start);
    out.resize(static_cast<std::size_t>(end - out.data()));
}

}  // namespace

const char* to_string(canonicalization c) {
    return c == canonicalization::simple ? "simple" : "relaxed";
}

char* detail::write_canonical_header(
    canonicalization c, const message::header_field& f, char* out
) {
    if (c == canonicalization::simple) {
        // A field read with a bare LF (or none, at the end of the text) still hashes as a line.
        std::string_view line = f.raw;
        if (line.ends_with("\r\n"))
            line.remove_suffix(2);
        else if (line.ends_with('\n'))
            line.remove_suffix(1);
        if (!line.empty())
            std::memcpy(out, line.data(), line.size());
        out += line.size();
        *out++ = '\r';
        *out++ = '\n';
        return out;
    }
    return write_relaxed_field(f.name, f.value, true, out);
}

char* detail::write_canonical_header_text(canonicalization c, std::string_view field, char* out) {
    if (c == canonicalization::simple) {
        if (!field.empty())
            std::memcpy(out, field.data(), field.size());
        return out + field.size();
    }
    auto colon = field.find(':');
    auto name = field.substr(0, colon);
    while (!name.empty() && is_wsp(name.back()))
        name.remove_suffix(1);
    auto value = colon == std::string_view::npos ? std::string_view{} : field.substr(colon + 1);
    return write_relaxed_field(name, value, false, out);
}

void canonicalize_header(canonicalization c, const message::header_field& f, std::string& out) {
    append_written(out, detail::canonical_header_bound(f), [&](char* w) {
        return detail::write_canonical_header(c, f, w);
    });
}

void canonicalize_header_text(canonicalization c, std::string_view field, std::string& out) {
    append_written(out, detail::canonical_header_text_bound(field), [&](char* w) {
        return detail::write_canonical_header_text(c, field, w);
    });
}

body_canonicalizer::body_canonicalizer(canonicalization c, std::string_view body)
    : c_(c), body_(body), end_(body_end(c, body)) {
    // An empty relaxed body stays empty (§3.4.4); an empty simple one is a CRLF (§3.4.3).
    done_ = c == canonicalization::relaxed && end_ == 0;
}

std::size_t body_canonicalizer::read(std::span<char> out) {
    std::size_t used = 0;
    if (c_ == canonicalization::relaxed) {
        used = read_relaxed(out.data(), out.size());
    } else {
        used = std::min(end_ - pos_, out.size());
        if (used > 0)  // an empty body's data() may be null, which memcpy must not see
            std::memcpy(out.data(), body_.data() + pos_, used);
        pos_ += used;
    }
    if (pos_ == end_ && !done_ && out.size() - used >= 2) {
        out[used++] = '\r';
        out[used++] = '\n';
        done_ = true;
    }
    return used;
}

std::size_t body_canonicalizer::read_relaxed(char* out, std::size_t size) {
    static const relaxed_blocks_fn relaxed_blocks = pick_relaxed_blocks();
    relaxed_cursor c{body_.data(), pos_, end_, out, 0, size};
    relaxed_blocks(c);
    relaxed_bytes(c);
    pos_ = c.i;
    return c.used;
}

std::string canonical_body(canonicalization c, std::string_view body) {
    std::string out;
    out.reserve(body.size() + 2);
    body_canonicalizer canon(c, body);
    std::array<char, 4096> buffer;
    while (std::size_t n = canon.read(buffer))
        out.append(buffer.data(), n);
    return out;
}

}  // namespace outpost::dkim
