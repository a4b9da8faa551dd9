// Building blocks shared by DKIM signing, verification and ARC.
#include "core/dkim/detail/signature.hpp"

#include <algorithm>
#include <array>

#include <openssl/evp.h>

#include "core/util/text.hpp"

namespace outpost::dkim::detail {

namespace {

constexpr std::size_t max_column = 78;

}  // namespace

sha256_digest body_hash(
    canonicalization c, std::string_view body, std::optional<std::uint64_t> limit
) {
    sha256_digest out{};
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, sha256_md(), nullptr);
    std::uint64_t left = limit.value_or(UINT64_MAX);
    // Relaxed canonicalization yields many short pieces; each EVP_DigestUpdate costs about as
    // much as hashing a hundred bytes, so short pieces are gathered first.
    std::array<char, 4096> buffer;
    std::size_t used = 0;
    auto flush = [&] {
        if (used > 0)
            EVP_DigestUpdate(ctx, buffer.data(), used);
        used = 0;
    };
    canonicalize_body(c, body, [&](std::string_view piece) {
        if (piece.size() > left)
            piece = piece.substr(0, static_cast<std::size_t>(left));
        left -= piece.size();
        if (piece.size() >= buffer.size() / 2) {
            flush();
            EVP_DigestUpdate(ctx, piece.data(), piece.size());
            return;
        }
        if (used + piece.size() > buffer.size())
            flush();
        std::copy(piece.begin(), piece.end(), buffer.begin() + static_cast<std::ptrdiff_t>(used));
        used += piece.size();
    });
    flush();
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, out.data(), &n);
    EVP_MD_CTX_free(ctx);
    return out;
}

std::vector<const message::header_field*> select_fields(
    std::span<const message::header_field> fields, std::span<const std::string> names
) {
    std::vector<const message::header_field*> out;
    out.reserve(names.size());
    std::vector<bool> taken(fields.size(), false);
    for (const auto& name : names) {
        for (std::size_t i = fields.size(); i-- > 0;) {
            if (!taken[i] && message::name_is(fields[i], name)) {
                taken[i] = true;
                out.push_back(&fields[i]);
                break;
            }
        }
    }
    return out;
}

std::string signed_data(
    std::span<const message::header_field* const> selected,
    canonicalization c,
    std::string_view own_field
) {
    std::string out;
    std::size_t size = own_field.size();
    for (const auto* f : selected)
        size += f->raw.size() + 2;
    out.reserve(size);
    for (const auto* f : selected)
        canonicalize_header(c, *f, out);
    canonicalize_header_text(c, own_field, out);
    return out;
}

field_writer::field_writer(std::string_view name) {
    text_.reserve(1024);
    text_ += name;
    text_ += ':';
    column_ = text_.size();
}

void field_writer::raw(std::string_view s) {
    text_ += s;
    column_ += s.size();
}

void field_writer::word(std::string_view w) {
    if (column_ + 1 + w.size() > max_column && column_ > 1) {
        text_ += "\r\n";
        column_ = 0;
    }
    raw(" ");
    raw(w);
}

void field_writer::tag(std::string_view name, std::string_view value) {
    std::string unit;
    unit.reserve(name.size() + value.size() + 2);
    unit += name;
    unit += '=';
    unit += value;
    unit += ';';
    word(unit);
}

void field_writer::list_tag(std::string_view name, std::span<const std::string> items) {
    std::string first(name);
    first += '=';
    if (items.empty()) {
        first += ';';
        word(first);
        return;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
        std::string piece = i == 0 ? first : std::string{};
        piece += items[i];
        piece += i + 1 == items.size() ? ";" : ":";
        if (i == 0) {
            word(piece);
        } else if (column_ + piece.size() > max_column) {
            // FWS may follow the ':' of an h= list (§3.5: hdr-name *( [FWS] ":" [FWS] hdr-name )).
            text_ += "\r\n ";
            column_ = 1;
            raw(piece);
        } else {
            raw(piece);
        }
    }
}

void field_writer::base64_tag(std::string_view name, std::string_view value) {
    if (name.size() + value.size() + 3 < max_column) {
        tag(name, value);
        return;
    }
    std::string head(name);
    head += '=';
    word(head);
    std::string v(value);
    v += ';';
    std::string_view rest = v;
    while (!rest.empty()) {
        std::size_t room = column_ < max_column ? max_column - column_ : 0;
        if (room < 8) {
            text_ += "\r\n ";
            column_ = 1;
            continue;
        }
        auto piece = rest.substr(0, room);
        raw(piece);
        rest.remove_prefix(piece.size());
    }
}

const std::string& field_writer::begin_b() {
    text_ += "\r\n b=";
    column_ = 3;
    return text_;
}

std::string field_writer::finish_b(std::string_view value) {
    std::string_view rest = value;
    while (!rest.empty()) {
        std::size_t room = max_column - column_;
        auto piece = rest.substr(0, room);
        raw(piece);
        rest.remove_prefix(piece.size());
        if (!rest.empty()) {
            text_ += "\r\n ";
            column_ = 1;
        }
    }
    text_ += "\r\n";
    return std::move(text_);
}

}  // namespace outpost::dkim::detail
