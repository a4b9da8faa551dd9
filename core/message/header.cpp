// RFC 5322 header section parsing that keeps every byte as received.
#include "core/message/header.hpp"

#include "core/util/text.hpp"

namespace outpost::message {

namespace {

bool is_wsp(char c) {
    return c == ' ' || c == '\t';
}

// The end of the line that starts at pos: one past its LF, or size() when the text ends first.
std::size_t line_end(std::string_view s, std::size_t pos) {
    auto lf = s.find('\n', pos);
    return lf == std::string_view::npos ? s.size() : lf + 1;
}

// The length of the line ending (CRLF, LF or none) at the end of line.
std::size_t ending_size(std::string_view line) {
    if (line.ends_with("\r\n"))
        return 2;
    if (line.ends_with('\n'))
        return 1;
    return 0;
}

bool is_empty_line(std::string_view line) {
    return line == "\r\n" || line == "\n";
}

header_field make_field(std::string_view raw) {
    header_field f;
    f.raw = raw;
    auto content = raw.substr(0, raw.size() - ending_size(raw));
    auto colon = content.find(':');
    // A colon after a line break belongs to a continuation line, not to the name.
    auto first_break = content.find('\n');
    if (colon == std::string_view::npos ||
        (first_break != std::string_view::npos && colon > first_break)) {
        f.value = content;
        return f;
    }
    auto name = content.substr(0, colon);
    while (!name.empty() && is_wsp(name.back()))
        name.remove_suffix(1);
    // A name holds printable ASCII only (RFC 5322 §3.6.8); anything else is not a field.
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126) {
            f.value = content;
            return f;
        }
    }
    f.name = name;
    f.value = content.substr(colon + 1);
    return f;
}

}  // namespace

parsed_header parse_header(std::string_view message) {
    parsed_header out;
    out.fields.reserve(32);
    std::size_t pos = 0;
    while (pos < message.size()) {
        auto end = line_end(message, pos);
        auto line = message.substr(pos, end - pos);
        if (is_empty_line(line)) {
            out.body_offset = end;
            return out;
        }
        // Continuation lines (RFC 5322 §2.2.3) start with WSP and belong to the field above.
        while (end < message.size() && is_wsp(message[end]))
            end = line_end(message, end);
        out.fields.push_back(make_field(message.substr(pos, end - pos)));
        pos = end;
    }
    out.body_offset = message.size();
    return out;
}

std::vector<const header_field*> find_fields(
    std::span<const header_field> fields, std::string_view name
) {
    std::vector<const header_field*> out;
    for (const auto& f : fields)
        if (name_is(f, name))
            out.push_back(&f);
    return out;
}

const header_field* find_first(std::span<const header_field> fields, std::string_view name) {
    for (const auto& f : fields)
        if (name_is(f, name))
            return &f;
    return nullptr;
}

std::string message_id_of(std::string_view message) {
    auto header = parse_header(message);
    const auto* f = find_first(header.fields, "Message-ID");
    if (!f)
        return {};
    std::string out;
    for (char c : f->value) {
        if (c > ' ' && c < 0x7f)
            out += c;
        else if ((c == ' ' || c == '\t') && !out.empty() && out.back() != ' ')
            out += ' ';
        if (out.size() == 250)
            break;
    }
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

std::size_t count_fields(std::span<const header_field> fields, std::string_view name) {
    std::size_t n = 0;
    for (const auto& f : fields)
        if (name_is(f, name))
            ++n;
    return n;
}

message_view view_message(std::string_view prefix, std::string_view original) {
    message_view v;
    auto rest = parse_header(original);
    v.body = original.substr(rest.body_offset);
    if (prefix.empty()) {
        v.fields = std::move(rest.fields);
        return v;
    }
    v.fields = parse_header(prefix).fields;
    v.fields.insert(v.fields.end(), rest.fields.begin(), rest.fields.end());
    return v;
}

}  // namespace outpost::message
