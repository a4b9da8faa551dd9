// The header parser (core/message/header.hpp), DKIM canonicalization of headers and bodies
// (core/dkim/detail/canonicalize.hpp), and DKIM/ARC verification of the parsed message against
// the RFC 8463 keys. The input is a whole message.
#include <array>
#include <string>
#include <vector>

#include "core/dkim/detail/arc.hpp"
#include "core/dkim/detail/canonicalize.hpp"
#include "core/dkim/verify.hpp"
#include "core/message/header.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace outpost;

namespace {

constexpr auto ed25519_record =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
constexpr auto rsa_record =
    "v=DKIM1; k=rsa; "
    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBf"
    "O2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

// Every name has a key: the RSA one for selector "test", the Ed25519 one otherwise, so the
// fuzzer reaches signature checks whatever d= and s= it writes. "temp" and "gone" selectors fail.
dkim::key_answer lookup(std::string_view name) {
    dkim::key_answer a;
    if (name.starts_with("temp."))
        return a;
    if (name.starts_with("gone.")) {
        a.state = dkim::key_answer::status::missing;
        return a;
    }
    a.state = dkim::key_answer::status::found;
    a.records.emplace_back(name.starts_with("test.") ? rsa_record : ed25519_record);
    return a;
}

void canonicalize_body(dkim::canonicalization c, std::string_view body, std::size_t buffer) {
    dkim::body_canonicalizer bc(c, body);
    std::vector<char> out(buffer);
    std::string streamed;
    for (;;) {
        auto n = bc.read(out);
        FUZZ_CHECK(n <= out.size());
        if (n == 0)
            break;
        streamed.append(out.data(), n);
    }
    FUZZ_CHECK(streamed == dkim::canonical_body(c, body));
    if (c == dkim::canonicalization::simple)
        FUZZ_CHECK(streamed.ends_with("\r\n"));
    else
        FUZZ_CHECK(streamed.empty() || streamed.ends_with("\r\n"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    auto parsed = message::parse_header(text);
    FUZZ_CHECK(parsed.body_offset <= text.size());
    // No byte is lost: the fields' raw text is the header section, in order.
    std::size_t at = 0;
    for (const auto& f : parsed.fields) {
        FUZZ_CHECK(f.raw.data() == text.data() + at);
        at += f.raw.size();
    }
    FUZZ_CHECK(at <= parsed.body_offset);

    const std::array<dkim::canonicalization, 2> kinds{
        dkim::canonicalization::simple, dkim::canonicalization::relaxed};
    for (auto c : kinds) {
        for (const auto& f : parsed.fields) {
            std::string out;
            dkim::canonicalize_header(c, f, out);
            // The writer must stay inside its bound: the buffer is exactly that big, so ASan sees
            // one byte too many.
            std::vector<char> exact(dkim::detail::canonical_header_bound(f));
            auto* end = dkim::detail::write_canonical_header(c, f, exact.data());
            FUZZ_CHECK(end >= exact.data() && end <= exact.data() + exact.size());
            FUZZ_CHECK(
                std::string_view(exact.data(), static_cast<std::size_t>(end - exact.data())) == out
            );

            std::string text_out;
            dkim::canonicalize_header_text(c, f.raw, text_out);
            std::vector<char> exact_text(dkim::detail::canonical_header_text_bound(f.raw));
            auto* text_end = dkim::detail::write_canonical_header_text(c, f.raw, exact_text.data());
            FUZZ_CHECK(
                text_end >= exact_text.data() && text_end <= exact_text.data() + exact_text.size()
            );
        }
        auto body = text.substr(parsed.body_offset);
        canonicalize_body(c, body, 2);
        canonicalize_body(c, body, 7);
        canonicalize_body(c, body, 4096);
    }

    // The message as the daemon sees it, with the fields it adds above the original.
    const std::string prefix = "Received: from c.example by test.example\r\n";
    auto view = message::view_message(prefix, text);
    FUZZ_CHECK(!view.fields.empty());
    auto arc = dkim::detail::collect_arc_sets(view.fields);
    FUZZ_CHECK(arc.highest <= dkim::detail::max_arc_instance);
    (void)dkim::key_names(view.fields);
    dkim::verify_options options;
    options.now = 1700000000;
    auto results = dkim::verify(view, lookup, options);
    for (const auto& r : results)
        FUZZ_CHECK(r.field != nullptr);
    (void)dkim::validate_arc(view, lookup, options);
    return 0;
}
