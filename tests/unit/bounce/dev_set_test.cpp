// Runs the classifier over the real bounces in tests/data/bounces and checks agreement with
// expected.tsv: at least 90% of reasons, 95% of hard/soft, and every recipient of the RFC 3464
// reports found. Prints the confusion between reasons so misses are visible.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "core/bounce/classifier.hpp"

namespace {

namespace fs = std::filesystem;
using namespace outpost::bounce;

struct expected_row {
    std::string file, recipient, status, reason, hardness;
};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return s;
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::vector<expected_row> read_expected(const fs::path& path) {
    std::vector<expected_row> rows;
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        if (line.empty())
            continue;
        std::vector<std::string> cols;
        std::stringstream ss(line);
        std::string col;
        while (std::getline(ss, col, '\t'))
            cols.push_back(col);
        cols.resize(5);
        rows.push_back({cols[0], cols[1], cols[2], cols[3], cols[4]});
    }
    return rows;
}

}  // namespace

TEST_CASE("classifier agrees with the development set of real bounces") {
    const fs::path dir = fs::path(OUTPOST_SOURCE_DIR) / "tests" / "data" / "bounces";
    auto expected = read_expected(dir / "expected.tsv");
    REQUIRE(expected.size() > 100);

    std::map<std::string, std::vector<classification>> results;
    std::map<std::string, bool> is_rfc3464;
    std::map<std::string, bool> has_dsn;
    for (const auto& row : expected) {
        if (results.count(row.file))
            continue;
        auto raw = slurp(dir / "eml" / row.file);
        REQUIRE_MESSAGE(!raw.empty(), row.file);
        // The RFC 3464 set: the reports the corpus files as plain RFC 3464 ("rfc3464-*"), whose
        // recipients must all be found. Other DSN-bearing files are counted separately.
        is_rfc3464[row.file] = row.file.rfind("rfc3464-", 0) == 0;
        has_dsn[row.file] = lower(raw).find("message/delivery-status") != std::string::npos;
        results[row.file] = classify_message(raw);
    }

    std::size_t found = 0, reason_ok = 0, hardness_ok = 0, status_ok = 0;
    std::size_t rfc_rows = 0, rfc_found = 0, dsn_rows = 0, dsn_found = 0;
    std::map<std::pair<std::string, std::string>, int> confusion;  // (expected, got)
    std::ostringstream misses;
    for (const auto& row : expected) {
        const auto& got = results[row.file];
        auto it = std::find_if(got.begin(), got.end(), [&](const classification& c) {
            return lower(c.recipient) == lower(row.recipient);
        });
        if (is_rfc3464[row.file])
            ++rfc_rows;
        if (has_dsn[row.file])
            ++dsn_rows;
        if (it == got.end()) {
            misses << "  not found: " << row.file << " " << row.recipient << " (got";
            for (const auto& c : got)
                misses << " " << c.recipient;
            misses << ")\n";
            confusion[{row.reason, "(missing)"}]++;
            continue;
        }
        ++found;
        if (is_rfc3464[row.file])
            ++rfc_found;
        if (has_dsn[row.file])
            ++dsn_found;
        std::string got_reason(to_string(it->why));
        if (got_reason == row.reason)
            ++reason_ok;
        else
            misses << "  " << row.file << " " << row.recipient << ": expected " << row.reason
                   << ", got " << got_reason << " [" << it->status << "] "
                   << it->diagnostic.substr(0, 160) << "\n";
        if (to_string(it->hardness) == row.hardness)
            ++hardness_ok;
        if (it->status == row.status)
            ++status_ok;
        confusion[{row.reason, got_reason}]++;
    }

    auto pct = [](std::size_t n, std::size_t d) {
        return d ? 100.0 * double(n) / double(d) : 100.0;
    };
    const auto total = expected.size();
    std::ostringstream summary;
    summary << "development set: " << total << " recipients in " << results.size() << " files\n"
            << "  recipients found:  " << found << "/" << total << " (" << pct(found, total)
            << "%)\n"
            << "  RFC 3464 found:    " << rfc_found << "/" << rfc_rows << " ("
            << pct(rfc_found, rfc_rows) << "%)\n"
            << "  with a DSN part:   " << dsn_found << "/" << dsn_rows << " ("
            << pct(dsn_found, dsn_rows) << "%)\n"
            << "  reason agreement:  " << reason_ok << "/" << total << " (" << pct(reason_ok, total)
            << "%)\n"
            << "  hard/soft:         " << hardness_ok << "/" << total << " ("
            << pct(hardness_ok, total) << "%)\n"
            << "  status agreement:  " << status_ok << "/" << total << " (" << pct(status_ok, total)
            << "%)\n"
            << "confusion (expected -> got: count), disagreements only:\n";
    for (const auto& [key, n] : confusion)
        if (key.first != key.second)
            summary << "  " << key.first << " -> " << key.second << ": " << n << "\n";
    const std::string report = summary.str() + "misses:\n" + misses.str();
    MESSAGE(report);

    CHECK(pct(reason_ok, total) >= 90.0);
    CHECK(pct(hardness_ok, total) >= 95.0);
    CHECK(rfc_found == rfc_rows);
}

TEST_CASE("truncated and mangled bounces never throw") {
    const fs::path dir = fs::path(OUTPOST_SOURCE_DIR) / "tests" / "data" / "bounces" / "eml";
    std::size_t files = 0;
    for (const auto& item : fs::directory_iterator(dir)) {
        auto raw = slurp(item.path());
        ++files;
        for (std::size_t cut :
             {std::size_t{0}, raw.size() / 7, raw.size() / 3, raw.size() / 2,
              raw.size() - raw.size() / 5}) {
            CHECK_NOTHROW(classify_message(std::string_view(raw).substr(0, cut)));
        }
        // CRs dropped and a long line without spaces appended.
        std::string mangled;
        for (char c : raw)
            if (c != '\r')
                mangled.push_back(c);
        mangled += std::string(100000, 'x') + "@" + std::string(50000, 'y') + ".example\n";
        CHECK_NOTHROW(classify_message(mangled));
    }
    CHECK(files > 100);
}
