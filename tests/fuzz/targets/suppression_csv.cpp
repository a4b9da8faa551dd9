// The suppression CSV importer (core/suppression/csv.hpp): RFC 4180 splitting and the import of
// export-style rows. The input is a CSV file; an exported entry must read back as itself.
#include <string>

#include "core/suppression/csv.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace outpost;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    auto doc = suppression::parse_csv(text);
    for (const auto& r : doc.records)
        FUZZ_CHECK(r.line >= 1);
    for (const auto& p : doc.problems)
        FUZZ_CHECK(p.line >= 1);

    suppression::csv_import_options options;
    options.now = 1700000000;
    auto imported = suppression::read_csv_entries(text, options);
    for (const auto& p : imported.problems)
        FUZZ_CHECK(p.line >= 1 && !p.message.empty());
    if (!imported.problems.empty())
        return 0;
    // Export and import again: the same entries.
    std::string exported(suppression::csv_header);
    exported += "\r\n";
    for (const auto& e : imported.entries)
        exported += suppression::csv_row(e) + "\r\n";
    auto again = suppression::read_csv_entries(exported, options);
    FUZZ_CHECK(again.problems.empty());
    FUZZ_CHECK(again.entries.size() == imported.entries.size());
    for (std::size_t i = 0; i < again.entries.size(); ++i)
        FUZZ_CHECK(
            suppression::csv_row(again.entries[i]) == suppression::csv_row(imported.entries[i])
        );

    for (const auto& r : doc.records)
        for (const auto& f : r.fields) {
            auto q = suppression::csv_quote(f);
            (void)suppression::parse_csv(q + "\n");
        }
    if (size >= 8) {
        std::string digits(text.substr(0, 20));
        if (auto t = suppression::parse_time(digits))
            FUZZ_CHECK(suppression::format_time(*t) == digits);
    }
    return 0;
}
