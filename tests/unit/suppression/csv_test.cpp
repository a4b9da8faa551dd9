// Suppression CSV: RFC 4180 quoting and splitting, times, and rows read into entries.
#include "core/suppression/csv.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace outpost::suppression;

namespace {

std::vector<std::vector<std::string>> fields_of(const csv_document& doc) {
    std::vector<std::vector<std::string>> out;
    for (const auto& r : doc.records)
        out.push_back(r.fields);
    return out;
}

csv_import read(std::string_view text) {
    return read_csv_entries(text, {std::nullopt, 1000});
}

// An entry with every field set, a mixed-case local part and a reason that needs quoting.
entry sample() {
    entry e;
    e.address = "Mixed.Case@example.com";
    e.reason = "full, \"quota\"";
    e.status = "5.2.2";
    e.origin = source::dsn;
    e.first_seen = 0;
    e.last_seen = 1795162500;
    e.count = 3;
    e.message_id = "<id@x>";
    e.queue_id = "1A24C014FD1267D6";
    return e;
}

}  // namespace

TEST_CASE("csv_quote quotes only fields that need it and doubles inner quotes") {
    CHECK(csv_quote("plain") == "plain");
    CHECK(csv_quote("") == "");
    CHECK(csv_quote("a,b") == "\"a,b\"");
    CHECK(csv_quote("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_quote("two\nlines") == "\"two\nlines\"");
    CHECK(csv_quote("cr\r") == "\"cr\r\"");
}

TEST_CASE("parse_csv reads what csv_quote writes") {
    std::vector<std::string> fields{"a,b", "say \"hi\"", "", "x\r\ny", "plain"};
    std::string line;
    for (const auto& f : fields)
        line += (line.empty() ? "" : ",") + csv_quote(f);
    auto doc = parse_csv(line + "\r\n" + line + "\n");
    REQUIRE(doc.problems.empty());
    CHECK(fields_of(doc) == std::vector<std::vector<std::string>>{fields, fields});
    CHECK(doc.records[0].line == 1);
    CHECK(doc.records[1].line == 3);  // the first record spans two lines
}

TEST_CASE("parse_csv keeps empty fields, skips empty lines and a byte order mark") {
    auto doc = parse_csv(
        "\xEF\xBB\xBF"
        "a,,b,\n\n\r\nc"
    );
    REQUIRE(doc.problems.empty());
    CHECK(fields_of(doc) == std::vector<std::vector<std::string>>{{"a", "", "b", ""}, {"c"}});
    CHECK(doc.records[1].line == 4);
}

TEST_CASE("parse_csv reports malformed lines and goes on at the next line") {
    auto doc = parse_csv("ok\n\"a\"b,c\nx\"y\nbare\rcr\nlast\n");
    REQUIRE(doc.problems.size() == 3);
    CHECK(doc.problems[0].line == 2);
    CHECK(doc.problems[0].message == "text after a closing quote");
    CHECK(doc.problems[1].line == 3);
    CHECK(doc.problems[2].line == 4);
    CHECK(fields_of(doc) == std::vector<std::vector<std::string>>{{"ok"}, {"last"}});
}

TEST_CASE("parse_csv reports an unclosed quote at the line it opens") {
    auto doc = parse_csv("a\nb,\"open\n\nmore");
    REQUIRE(doc.problems.size() == 1);
    CHECK(doc.problems[0].line == 2);
    CHECK(doc.problems[0].message == "unclosed quoted field");
    CHECK(doc.records.size() == 1);
}

TEST_CASE("format_time and parse_time are ISO 8601 UTC and inverse") {
    CHECK(format_time(0) == "1970-01-01T00:00:00Z");
    CHECK(format_time(1795162500) == "2026-11-20T08:15:00Z");
    CHECK(format_time(4102444799) == "2099-12-31T23:59:59Z");  // past 2038
    for (std::int64_t t : {0LL, 951782400LL, 1795162500LL, 4102444799LL})
        CHECK(parse_time(format_time(t)) == t);
    CHECK(parse_time("2024-02-29T12:00:00Z") == 1709208000);
    CHECK_FALSE(parse_time("2023-02-29T12:00:00Z"));
    CHECK_FALSE(parse_time("2026-11-20T24:00:00Z"));
    CHECK_FALSE(parse_time("2026-11-20 08:15:00Z"));
    CHECK_FALSE(parse_time("2026-11-20T08:15:00"));
    CHECK_FALSE(parse_time("1795162500"));
    CHECK_FALSE(parse_time(""));
}

TEST_CASE("csv_row writes the columns of csv_header") {
    CHECK(
        csv_row(sample()) ==
        "Mixed.Case@example.com,\"full, \"\"quota\"\"\",5.2.2,dsn,1970-01-01T00:00:00Z,"
        "2026-11-20T08:15:00Z,3,<id@x>,hard,1A24C014FD1267D6"
    );
}

TEST_CASE("read_csv_entries reads back an exported row") {
    auto r = read(std::string(csv_header) + "\n" + csv_row(sample()) + "\n");
    REQUIRE(r.problems.empty());
    REQUIRE(r.entries.size() == 1);
    CHECK(csv_row(r.entries[0]) == csv_row(sample()));
}

TEST_CASE("read_csv_entries fills what a subset of columns leaves out") {
    auto r = read("message_id,address\nm1,<Someone@EXAMPLE.org>\n");
    REQUIRE(r.problems.empty());
    REQUIRE(r.entries.size() == 1);
    const auto& e = r.entries[0];
    CHECK(e.address == "Someone@example.org");
    CHECK(e.reason == "import");
    CHECK(e.origin == source::import);
    CHECK(e.status.empty());
    CHECK(e.message_id == "m1");
    CHECK(e.count == 1);
    CHECK(e.first_seen == 1000);
    CHECK(e.last_seen == 1000);

    auto one_time = read("address,last_seen\na@b.c,2026-11-20T08:15:00Z\n");
    REQUIRE(one_time.entries.size() == 1);
    CHECK(one_time.entries[0].first_seen == 1795162500);
}

TEST_CASE("read_csv_entries takes the file's source unless the options set one") {
    std::string text = "address,source,reason\na@b.c,manual,\nd@e.f,,x\n";
    auto r = read(text);
    REQUIRE(r.entries.size() == 2);
    CHECK(r.entries[0].origin == source::manual);
    CHECK(r.entries[0].reason == "import");
    CHECK(r.entries[1].origin == source::import);

    auto forced = read_csv_entries(text, {source::manual, 0});
    REQUIRE(forced.entries.size() == 2);
    CHECK(forced.entries[1].origin == source::manual);
}

TEST_CASE("read_csv_entries reports every bad line with its number") {
    auto r = read(
        "address,source,first_seen,count\n"
        "good@example.com,,,\n"
        "no-at-sign,,,\n"
        "x@y.z,bounced,,\n"
        "x@y.z,,yesterday,\n"
        "x@y.z,,,0\n"
        "too,many,fields,here,!\n"
        "\"broken\"quote,,,\n"
    );
    std::vector<std::size_t> lines;
    for (const auto& p : r.problems)
        lines.push_back(p.line);
    CHECK(lines == std::vector<std::size_t>{3, 4, 5, 6, 7, 8});
    CHECK(r.problems[0].message == "invalid address \"no-at-sign\"");
    CHECK(r.problems[4].message == "5 fields, the header has 4");
}

TEST_CASE("read_csv_entries needs a header with an address column and known names") {
    CHECK(read("").problems.at(0).line == 1);
    CHECK(read("reason\nx\n").problems.at(0).message == "no \"address\" column");
    auto unknown = read("address,colour\na@b.c,red\n");
    REQUIRE(unknown.problems.size() == 1);
    CHECK(unknown.problems[0].line == 1);
    CHECK(unknown.entries.empty());
    auto twice = read("address,address\na@b.c,a@b.c\n");
    CHECK(twice.problems.at(0).message == "column \"address\" twice");
    // An export without its header: the first address is taken for a column name.
    CHECK(read("a@b.c,x\n").problems.at(0).line == 1);
}

TEST_CASE("read_csv_entries refuses first_seen after last_seen") {
    auto r =
        read("address,first_seen,last_seen\na@b.c,2026-11-21T00:00:00Z,2026-11-20T00:00:00Z\n");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].line == 2);
}

TEST_CASE("read_csv_entries takes a plain list of addresses, one per line, without a header") {
    csv_import_options o;
    o.now = 1000;
    auto r = read_csv_entries("a@example.com\r\nB@Example.NET\n\nc@example.org\n", o);
    REQUIRE(r.problems.empty());
    REQUIRE(r.entries.size() == 3);
    CHECK(r.entries[1].address == "B@example.net");
    CHECK(r.entries[1].reason == "import");
    CHECK(r.entries[1].last_seen == 1000);
    auto bad = read_csv_entries("a@example.com\nnot an address\nb@example.com,extra\n", o);
    REQUIRE(bad.problems.size() == 2);
    CHECK(bad.problems[0].line == 2);
    CHECK(bad.problems[1].line == 3);
}
