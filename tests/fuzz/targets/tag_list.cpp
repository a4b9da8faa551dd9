// The DKIM/ARC tag-list parser (core/dkim/detail/tag_list.hpp) and its helpers, and the i= of an
// ARC field built from the same text. The input is a tag-list ("v=1; a=rsa-sha256; ...").
#include "core/dkim/detail/tag_list.hpp"

#include <string>

#include "core/dkim/detail/arc.hpp"
#include "core/message/header.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace outpost;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    if (auto tags = dkim::parse_tag_list(text)) {
        for (const auto& t : *tags) {
            FUZZ_CHECK(!t.name.empty());
            FUZZ_CHECK(t.value_begin <= t.value_end && t.value_end <= text.size());
            FUZZ_CHECK(
                t.name.data() >= text.data() &&
                t.name.data() + t.name.size() <= text.data() + text.size()
            );
            FUZZ_CHECK(t.value.size() <= t.value_end - t.value_begin);
            FUZZ_CHECK(dkim::find_tag(*tags, t.name) == &t);  // each name once (§3.2)
            auto stripped = dkim::strip_fws(t.value);
            FUZZ_CHECK(stripped.size() <= t.value.size());
            for (const auto& item : dkim::split_colon_list(t.value))
                FUZZ_CHECK(item.find(':') == std::string::npos);
        }
        auto without = dkim::without_b_value(text, *tags);
        FUZZ_CHECK(without.size() <= text.size());
        if (!dkim::find_tag(*tags, "b"))
            FUZZ_CHECK(without == text);
    }
    // The same text as each kind of ARC field.
    for (auto name : {"ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results"}) {
        std::string field = std::string(name) + ":" + std::string(text) + "\r\n";
        auto parsed = message::parse_header(field);
        for (const auto& f : parsed.fields) {
            if (auto i = dkim::detail::arc_instance(f))
                FUZZ_CHECK(*i >= 1 && *i <= dkim::detail::max_arc_instance);
        }
        (void)dkim::detail::collect_arc_sets(parsed.fields);
    }
    return 0;
}
