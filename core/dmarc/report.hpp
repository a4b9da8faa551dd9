// DMARC aggregate reports (RFC 7489 §7.2, appendix C; the DMARCbis aggregate schema): the XML a
// receiver sends to the rua= address, read with expat, and the attachments it comes in (gzip,
// zip or bare XML, found by their bytes rather than their labels, which receivers get wrong).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace outpost::dmarc {

struct record {
    std::string source_ip;
    std::uint64_t count = 0;
    std::string disposition;    // none | quarantine | reject (policy_evaluated)
    bool dkim_aligned = false;  // policy_evaluated/dkim = pass: a DKIM pass aligned with From
    bool spf_aligned = false;   // policy_evaluated/spf = pass
    std::string header_from;
    std::string dkim_domain;  // the first auth_results/dkim
    std::string dkim_result;
    std::string spf_domain;
    std::string spf_result;
};

struct report {
    std::string org_name;
    std::string report_id;
    std::int64_t begin = 0;  // date_range, unix seconds
    std::int64_t end = 0;
    std::string policy_domain;  // policy_published/domain
    std::string policy;         // policy_published/p
    std::vector<record> records;
};

// The report in xml; a sentence saying what is wrong otherwise (not XML, not a feedback
// document, no report_id, no records, a count that is not a number...).
std::variant<report, std::string> parse_report(std::string_view xml);

// A parsed report as JSON and back (what a cluster's nodes share); nullopt for anything else.
std::string to_json(const report& r);
std::optional<report> report_from_json(std::string_view text);

// Largest report read after decompression: reports of big senders run to megabytes, and a zip
// bomb must not fill memory.
inline constexpr std::size_t max_report_size = 32u << 20;

struct extracted {
    std::string name;  // the attachment's file name, or its media type
    std::string xml;   // empty when error is set
    std::string error;
};

// The reports a message carries: every part (or the whole body) that is gzip, zip (its .xml
// members) or XML. None when the message carries nothing that looks like a report.
std::vector<extracted> extract_reports(std::string_view message);

}  // namespace outpost::dmarc
