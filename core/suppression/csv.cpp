// The suppression list as CSV: RFC 4180 quoting and splitting, and the mapping to entries.
#include "core/suppression/csv.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <limits>

#include <fmt/format.h>

#include "core/suppression/foreign_csv.hpp"

namespace outpost::suppression {

namespace {

enum class column {
    address,
    reason,
    status,
    origin,
    first_seen,
    last_seen,
    count,
    message_id,
    severity,
    queue_id
};

constexpr std::array<std::pair<std::string_view, column>, 10> column_names{{
    {"address", column::address},
    {"reason", column::reason},
    {"status", column::status},
    {"source", column::origin},
    {"first_seen", column::first_seen},
    {"last_seen", column::last_seen},
    {"count", column::count},
    {"message_id", column::message_id},
    {"kind", column::severity},
    {"queue_id", column::queue_id},
}};

std::optional<column> parse_column(std::string_view name) {
    for (const auto& [text, value] : column_names)
        if (text == name)
            return value;
    return std::nullopt;
}

// Reads a field of decimal digits; nullopt when it is anything else or out of range.
template <class T>
std::optional<T> parse_digits(std::string_view text) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

// Splits text into records, one call a record; see parse_csv.
class splitter {
public:
    explicit splitter(std::string_view text) : text_(text) {
        if (text_.starts_with("\xEF\xBB\xBF"))
            pos_ = 3;
    }

    bool done() const { return pos_ >= text_.size(); }

    // The next record, or a problem after which reading resumes at the next line.
    void next(csv_document& doc) {
        csv_record record{line_, {}};
        while (true) {
            std::string field;
            if (peek() == '"') {
                auto opened = line_;
                ++pos_;
                if (!read_quoted(field)) {
                    doc.problems.push_back({opened, "unclosed quoted field"});
                    return;
                }
                if (!done() && peek() != ',' && !at_line_end()) {
                    doc.problems.push_back({line_, "text after a closing quote"});
                    skip_line();
                    return;
                }
            } else {
                while (!done() && peek() != ',' && !at_line_end()) {
                    char c = text_[pos_];
                    if (c == '"' || c == '\r') {
                        doc.problems.push_back(
                            {line_, c == '"' ? "quote inside an unquoted field (RFC 4180 §2.5)"
                                             : "bare CR outside a quoted field"}
                        );
                        skip_line();
                        return;
                    }
                    field += c;
                    ++pos_;
                }
            }
            record.fields.push_back(std::move(field));
            if (!done() && peek() == ',') {
                ++pos_;
                continue;
            }
            skip_line_end();
            break;
        }
        if (record.fields.size() == 1 && record.fields[0].empty())
            return;  // an empty line
        doc.records.push_back(std::move(record));
    }

private:
    char peek() const { return done() ? '\0' : text_[pos_]; }

    bool at_line_end() const {
        return text_[pos_] == '\n' ||
               (text_[pos_] == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n'));
    }

    // After the opening quote: reads up to and past the closing one. False at the end of text.
    bool read_quoted(std::string& field) {
        while (!done()) {
            char c = text_[pos_++];
            if (c == '"') {
                if (peek() != '"')
                    return true;
                ++pos_;
            } else if (c == '\n') {
                ++line_;
            }
            field += c;
        }
        return false;
    }

    void skip_line_end() {
        if (peek() == '\r')
            ++pos_;
        if (peek() == '\n') {
            ++pos_;
            ++line_;
        }
    }

    void skip_line() {
        while (!done() && text_[pos_] != '\n')
            ++pos_;
        skip_line_end();
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t line_ = 1;
};

}  // namespace

std::string csv_quote(std::string_view field) {
    if (field.find_first_of(",\"\r\n") == std::string_view::npos)
        return std::string(field);
    std::string out = "\"";
    for (char c : field) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

csv_document parse_csv(std::string_view text) {
    csv_document doc;
    splitter split(text);
    while (!split.done())
        split.next(doc);
    return doc;
}

std::string format_time(std::int64_t t) {
    using namespace std::chrono;
    sys_seconds when{seconds{t}};
    auto day = floor<days>(when);
    year_month_day ymd{day};
    hh_mm_ss hms{when - day};
    return fmt::format(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
        hms.minutes().count(), hms.seconds().count()
    );
}

std::optional<std::int64_t> parse_time(std::string_view text) {
    using namespace std::chrono;
    // "YYYY-MM-DDTHH:MM:SSZ": digits everywhere but these positions.
    constexpr std::string_view shape = "0000-00-00T00:00:00Z";
    if (text.size() != shape.size())
        return std::nullopt;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        bool digit = text[i] >= '0' && text[i] <= '9';
        if (shape[i] == '0' ? !digit : text[i] != shape[i])
            return std::nullopt;
    }
    auto number = [&](std::size_t at, std::size_t len) {
        return *parse_digits<int>(text.substr(at, len));
    };
    year_month_day ymd{
        year{number(0, 4)}, month{static_cast<unsigned>(number(5, 2))},
        day{static_cast<unsigned>(number(8, 2))}};
    int h = number(11, 2), m = number(14, 2), s = number(17, 2);
    if (!ymd.ok() || h > 23 || m > 59 || s > 59)
        return std::nullopt;
    std::int64_t days_since_epoch = sys_days{ymd}.time_since_epoch().count();
    return days_since_epoch * 86400 + h * 3600 + m * 60 + s;
}

std::string csv_row(const entry& e) {
    return fmt::format(
        "{},{},{},{},{},{},{},{},{},{}", csv_quote(e.address), csv_quote(e.reason),
        csv_quote(e.status), to_string(e.origin), format_time(e.first_seen),
        format_time(e.last_seen), e.count, csv_quote(e.message_id), to_string(e.severity),
        csv_quote(e.queue_id)
    );
}

namespace {

// The parser's problems and the rows' were found apart: report them in line order.
void sort_by_line(std::vector<csv_problem>& problems) {
    std::stable_sort(problems.begin(), problems.end(), [](const auto& a, const auto& b) {
        return a.line < b.line;
    });
}

csv_import read_address_list(
    const csv_document& doc, const csv_import_options& options, csv_import out
) {
    for (const auto& record : doc.records) {
        if (record.fields.size() != 1) {
            out.problems.push_back(
                {record.line, "a list of addresses has one address per line, nothing else"}
            );
            continue;
        }
        entry e;
        e.address = normalize_address(record.fields[0]);
        if (e.address.empty()) {
            out.problems.push_back(
                {record.line, fmt::format("invalid address \"{}\"", record.fields[0])}
            );
            continue;
        }
        e.reason = "import";
        e.origin = options.origin.value_or(source::import);
        e.first_seen = e.last_seen = options.now;
        e.undated = true;
        out.entries.push_back(std::move(e));
    }
    return out;
}

}  // namespace

csv_import read_csv_entries(std::string_view text, const csv_import_options& options) {
    auto doc = parse_csv(text);
    csv_import out;
    out.problems = std::move(doc.problems);
    if (doc.records.empty()) {
        if (out.problems.empty())
            out.problems.push_back({1, fmt::format("no header line (want {})", csv_header)});
        return out;
    }
    const auto& header = doc.records.front();
    if (!out.problems.empty() && out.problems.front().line < header.line)
        return out;  // the header itself is unreadable
    // One address per line, no header: the plainest list people migrate from.
    if (header.fields.size() == 1 && header.fields[0].find('@') != std::string::npos)
        return read_address_list(doc, options, std::move(out));
    bool ours = std::all_of(header.fields.begin(), header.fields.end(), [](const auto& name) {
        return parse_column(name).has_value();
    });
    if (!ours)
        if (auto format = detect_foreign(header.fields)) {
            auto foreign = read_foreign_entries(doc, *format, options);
            foreign.format = std::string(to_string(*format));
            sort_by_line(foreign.problems);
            return foreign;
        }

    std::vector<column> columns;
    bool has_address = false;
    for (const auto& name : header.fields) {
        auto c = parse_column(name);
        if (!c) {
            out.problems.push_back(
                {header.line, fmt::format("unknown column \"{}\" (known: {})", name, csv_header)}
            );
            continue;
        }
        for (auto seen : columns)
            if (seen == *c)
                out.problems.push_back({header.line, fmt::format("column \"{}\" twice", name)});
        has_address = has_address || *c == column::address;
        columns.push_back(*c);
    }
    if (!has_address)
        out.problems.push_back({header.line, "no \"address\" column"});
    if (!out.problems.empty() && out.problems.back().line == header.line)
        return out;

    for (std::size_t r = 1; r < doc.records.size(); ++r) {
        const auto& record = doc.records[r];
        auto problem = [&](std::string message) {
            out.problems.push_back({record.line, std::move(message)});
        };
        if (record.fields.size() != columns.size()) {
            problem(
                fmt::format("{} fields, the header has {}", record.fields.size(), columns.size())
            );
            continue;
        }
        entry e;
        e.reason = "import";
        e.origin = source::import;
        std::optional<std::int64_t> first, last;
        bool ok = true;
        for (std::size_t i = 0; i < columns.size(); ++i) {
            const auto& value = record.fields[i];
            switch (columns[i]) {
                case column::address:
                    e.address = normalize_address(value);
                    if (e.address.empty()) {
                        problem(fmt::format("invalid address \"{}\"", value));
                        ok = false;
                    }
                    break;
                case column::reason:
                    if (!value.empty())
                        e.reason = value;
                    break;
                case column::status:
                    e.status = value;
                    break;
                case column::origin:
                    if (value.empty())
                        break;
                    if (auto s = parse_source(value)) {
                        e.origin = *s;
                    } else {
                        problem(fmt::format(
                            "unknown source \"{}\" (smtp-reply, dsn, complaint, manual, import)",
                            value
                        ));
                        ok = false;
                    }
                    break;
                case column::first_seen:
                case column::last_seen: {
                    if (value.empty())
                        break;
                    auto t = parse_time(value);
                    if (!t) {
                        problem(fmt::format(
                            "bad {} \"{}\" (want YYYY-MM-DDTHH:MM:SSZ)",
                            columns[i] == column::first_seen ? "first_seen" : "last_seen", value
                        ));
                        ok = false;
                    }
                    (columns[i] == column::first_seen ? first : last) = t;
                    break;
                }
                case column::count:
                    if (value.empty())
                        break;
                    if (auto n = parse_digits<std::uint32_t>(value); n && *n > 0) {
                        e.count = *n;
                    } else {
                        problem(fmt::format("bad count \"{}\" (want a positive number)", value));
                        ok = false;
                    }
                    break;
                case column::message_id:
                    e.message_id = value;
                    break;
                case column::queue_id:
                    e.queue_id = value;
                    break;
                case column::severity:
                    if (value.empty())
                        break;
                    if (auto k = parse_kind(value)) {
                        e.severity = *k;
                    } else {
                        problem(fmt::format("unknown kind \"{}\" (hard, soft)", value));
                        ok = false;
                    }
                    break;
            }
        }
        if (!ok)
            continue;
        e.undated = !first && !last;
        e.first_seen = first.value_or(last.value_or(options.now));
        e.last_seen = last.value_or(first.value_or(options.now));
        if (e.first_seen > e.last_seen) {
            problem("first_seen is after last_seen");
            continue;
        }
        if (options.origin)
            e.origin = *options.origin;
        out.entries.push_back(std::move(e));
    }
    sort_by_line(out.problems);
    return out;
}

}  // namespace outpost::suppression
