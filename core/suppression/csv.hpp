// The suppression list as CSV (RFC 4180): the export format and the import reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/suppression/store.hpp"

namespace outpost::suppression {

// The export header line (without line end). An import needs `address` and accepts any subset
// of these columns, in any order.
inline constexpr std::string_view csv_header =
    "address,reason,status,source,first_seen,last_seen,count,message_id,kind,queue_id";

// RFC 4180 §2.6-2.7: the field as is, or in double quotes with inner quotes doubled when it holds
// a comma, a double quote, CR or LF.
std::string csv_quote(std::string_view field);

// One record of a CSV text and the line it starts on (1-based).
struct csv_record {
    std::size_t line = 0;
    std::vector<std::string> fields;
};

// Something wrong on a line of the input (1-based).
struct csv_problem {
    std::size_t line = 0;
    std::string message;
};

struct csv_document {
    std::vector<csv_record> records;
    std::vector<csv_problem> problems;
};

// Splits RFC 4180 text into records. Lines may end in CRLF or LF, quoted fields may span lines,
// a leading UTF-8 byte order mark is skipped and empty lines are passed over. A malformed record
// (a quote inside an unquoted field, text after a closing quote, a bare CR) becomes a problem and
// reading goes on at the next line; an unclosed quote is a problem that ends the text.
csv_document parse_csv(std::string_view text);

// Unix seconds as ISO 8601 UTC: "2026-11-20T08:15:00Z".
std::string format_time(std::int64_t t);
// The inverse of format_time; nullopt for any other text or an impossible date.
std::optional<std::int64_t> parse_time(std::string_view text);

// An entry as one export line (no line end), in csv_header's column order.
std::string csv_row(const entry& e);

struct csv_import_options {
    // When set, every entry gets this source; otherwise the file's `source` column, or `import`
    // where the file has none.
    std::optional<source> origin;
    // first_seen and last_seen of rows that give neither.
    std::int64_t now = 0;
};

struct csv_import {
    std::vector<entry> entries;
    std::vector<csv_problem> problems;  // when not empty, entries are not to be stored
    std::string format;                 // "" for ours, else whose export it was ("SendGrid")
};

// Reads an export-style CSV into entries. The first line is the header. Per row: the address is
// normalized (an invalid one is a problem); a missing or empty reason is "import"; a missing
// status or message id is empty; a missing count is 1; first_seen and last_seen must be
// format_time text, and when one is missing it takes the other's value (both missing: now).
// Every bad line is reported, with the line its record starts on. A file whose first line is a
// single address has no header: one address per line, each imported with reason "import". An
// export of Amazon SES, Postmark or SendGrid is recognised by its columns and read as
// read_foreign_entries() says (foreign_csv.hpp).
csv_import read_csv_entries(std::string_view text, const csv_import_options& options);

}  // namespace outpost::suppression
