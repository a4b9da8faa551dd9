// MTA-STS parsing (core/tlspolicy/mta_sts.hpp): the policy file and the _mta-sts TXT record come
// from whoever runs the recipient domain. A parsed policy keeps its promises: lower-case MX
// patterns without spaces, max_age within a year, mx present unless mode is none.
#include "core/tlspolicy/mta_sts.hpp"

#include <string>
#include <vector>

#include "tests/fuzz/fuzz.hpp"

using namespace outpost;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    auto parsed = tlspolicy::parse_sts_policy(text);
    if (auto* p = std::get_if<tlspolicy::sts_policy>(&parsed)) {
        FUZZ_CHECK(p->max_age >= 0 && p->max_age <= 31557600);
        FUZZ_CHECK(!p->mx.empty() || p->mode == tlspolicy::sts_mode::none);
        for (const auto& mx : p->mx) {
            FUZZ_CHECK(!mx.empty() && mx.find(' ') == std::string::npos);
            for (char c : mx)
                FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
            // A pattern matches the host it names (a wildcard: one label in its place).
            if (!mx.starts_with("*.") && mx.back() != '.')
                FUZZ_CHECK(tlspolicy::mx_matches(mx, mx));
        }
    }
    // The same bytes as TXT records, split at NUL bytes.
    std::vector<std::string> records;
    std::string current;
    for (char c : text) {
        if (c == '\0') {
            records.push_back(std::move(current));
            current.clear();
        } else {
            current += c;
        }
    }
    records.push_back(std::move(current));
    auto id = tlspolicy::sts_record_id(records);
    if (auto* s = std::get_if<std::string>(&id))
        FUZZ_CHECK(!s->empty() && s->size() <= 32);
    return 0;
}
