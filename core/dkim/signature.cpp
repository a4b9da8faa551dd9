// Building blocks shared by DKIM signing, verification and ARC.
#include "core/dkim/detail/signature.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <memory>

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
    // One context per thread, initialized again for every body: a new one costs about as much as
    // hashing a hundred bytes.
    thread_local const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> owned(
        EVP_MD_CTX_new(), EVP_MD_CTX_free
    );
    EVP_MD_CTX* ctx = owned.get();
    EVP_DigestInit_ex(ctx, sha256_md(), nullptr);
    std::uint64_t left = limit.value_or(UINT64_MAX);
    // Canonicalized into a buffer first: each EVP_DigestUpdate costs about as much as hashing a
    // hundred bytes, and relaxed canonicalization edits most lines.
    body_canonicalizer canon(c, body);
    std::array<char, 8192> buffer;
    while (left > 0) {
        std::size_t n = canon.read(buffer);
        if (n == 0)
            break;
        n = static_cast<std::size_t>(std::min<std::uint64_t>(n, left));
        EVP_DigestUpdate(ctx, buffer.data(), n);
        left -= n;
    }
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, out.data(), &n);
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
    // Sized once for the worst case, written in place, then cut to what was written.
    std::size_t bound = canonical_header_text_bound(own_field);
    for (const auto* f : selected)
        bound += canonical_header_bound(*f);
    std::string out(bound, '\0');
    char* w = out.data();
    for (const auto* f : selected)
        w = write_canonical_header(c, *f, w);
    w = write_canonical_header_text(c, own_field, w);
    out.resize(static_cast<std::size_t>(w - out.data()));
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

void field_writer::start_word(std::size_t width) {
    if (column_ + 1 + width > max_column && column_ > 1) {
        text_ += "\r\n";
        column_ = 0;
    }
    text_ += ' ';
    ++column_;
}

void field_writer::word(std::string_view w) {
    start_word(w.size());
    raw(w);
}

void field_writer::tag(std::string_view name, std::string_view value) {
    start_word(name.size() + value.size() + 2);
    raw(name);
    raw("=");
    raw(value);
    raw(";");
}

void field_writer::number_tag(std::string_view name, std::int64_t value) {
    std::array<char, 24> digits;
    auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
    tag(name, std::string_view(digits.data(), static_cast<std::size_t>(end - digits.data())));
}

void field_writer::list_tag(std::string_view name, std::span<const std::string_view> items) {
    if (items.empty()) {
        start_word(name.size() + 2);
        raw(name);
        raw("=;");
        return;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i == 0) {
            start_word(name.size() + 1 + items[i].size() + 1);
            raw(name);
            raw("=");
        } else if (column_ + items[i].size() + 1 > max_column) {
            // FWS may follow the ':' of an h= list (§3.5: hdr-name *( [FWS] ":" [FWS] hdr-name )).
            text_ += "\r\n ";
            column_ = 1;
        }
        raw(items[i]);
        raw(i + 1 == items.size() ? ";" : ":");
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

void field_writer::digest_tag(std::string_view name, const sha256_digest& digest) {
    std::array<char, util::base64_size(std::tuple_size_v<sha256_digest>)> text;
    base64_tag(
        name,
        util::base64_encode(
            std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()), text
        )
    );
}

std::string_view field_writer::begin_b() {
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

std::string field_writer::finish_b_signature(std::string_view signature) {
    // RSA-4096 makes the longest signature we write: 512 bytes.
    std::array<char, util::base64_size(512)> text;
    if (signature.size() > 512)
        return finish_b(util::base64_encode(signature));
    return finish_b(util::base64_encode(signature, text));
}

}  // namespace outpost::dkim::detail
