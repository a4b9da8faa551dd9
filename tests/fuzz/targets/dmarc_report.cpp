// DMARC aggregate report intake (outpost::dmarc): a mail from anyone, its parts found by their
// bytes, gzip and zip opened, the XML read with expat. The input is a message; a bare XML body
// is tried as a report too.
#include <variant>

#include "core/dmarc/report.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace outpost;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    for (const auto& x : dmarc::extract_reports(text)) {
        FUZZ_CHECK(x.xml.empty() || x.error.empty());
        FUZZ_CHECK(x.xml.size() <= dmarc::max_report_size);
        if (!x.xml.empty())
            (void)dmarc::parse_report(x.xml);
    }
    auto r = dmarc::parse_report(text);
    if (auto* report = std::get_if<dmarc::report>(&r))
        for (const auto& rec : report->records)
            FUZZ_CHECK(!rec.source_ip.empty());
    return 0;
}
