// DKIM simple and relaxed canonicalization of header fields and bodies (RFC 6376 §3.4).
#include "core/dkim/detail/canonicalize.hpp"

#include "core/util/text.hpp"

namespace outpost::dkim {

namespace {

// Relaxed value (§3.4.2): unfold, WSP runs to one SP, no WSP at either end.
void append_relaxed_value(std::string_view value, std::string& out) {
    bool pending_space = false;
    bool any = false;
    for (char ch : value) {
        if (ch == '\r' || ch == '\n')
            continue;  // unfolding: a line break inside a field is dropped, its WSP kept
        if (detail::is_wsp(ch)) {
            pending_space = any;
            continue;
        }
        if (pending_space)
            out += ' ';
        pending_space = false;
        any = true;
        out += ch;
    }
}

void append_lower(std::string_view s, std::string& out) {
    for (char ch : s)
        out += util::ascii_lower(ch);
}

}  // namespace

const char* to_string(canonicalization c) {
    return c == canonicalization::simple ? "simple" : "relaxed";
}

void canonicalize_header(canonicalization c, const message::header_field& f, std::string& out) {
    if (c == canonicalization::simple) {
        out += f.raw;
        if (!f.raw.ends_with("\r\n")) {
            // A field read with a bare LF (or none, at the end of the text) still hashes as a line.
            if (f.raw.ends_with('\n'))
                out.pop_back();
            out += "\r\n";
        }
        return;
    }
    append_lower(f.name, out);
    out += ':';
    append_relaxed_value(f.value, out);
    out += "\r\n";
}

void canonicalize_header_text(canonicalization c, std::string_view field, std::string& out) {
    if (c == canonicalization::simple) {
        out += field;
        return;
    }
    auto colon = field.find(':');
    auto name = field.substr(0, colon);
    while (!name.empty() && detail::is_wsp(name.back()))
        name.remove_suffix(1);
    append_lower(name, out);
    out += ':';
    if (colon != std::string_view::npos)
        append_relaxed_value(field.substr(colon + 1), out);
}

std::string canonical_body(canonicalization c, std::string_view body) {
    std::string out;
    out.reserve(body.size() + 2);
    canonicalize_body(c, body, [&](std::string_view piece) { out += piece; });
    return out;
}

}  // namespace outpost::dkim
