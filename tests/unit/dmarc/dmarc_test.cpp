// DMARC aggregate reports: the XML read with expat (both schemas), what is refused, and the
// store's deduplication and sums.
#include <chrono>
#include <filesystem>
#include <string>
#include <variant>

#include <doctest/doctest.h>
#include <unistd.h>

#include "core/dmarc/health.hpp"
#include "core/dmarc/report.hpp"
#include "core/dmarc/store.hpp"

using namespace outpost::dmarc;
namespace fs = std::filesystem;

namespace {

std::string xml(const std::string& records, const std::string& ns = "") {
    return "<?xml version=\"1.0\"?><feedback" + (ns.empty() ? "" : " xmlns=\"" + ns + "\"") +
           "><report_metadata><org_name>Example Org</org_name><report_id>r-1</report_id>"
           "<date_range><begin>100</begin><end>200</end></date_range></report_metadata>"
           "<policy_published><domain>Example.COM</domain><p>reject</p></policy_published>" +
           records + "</feedback>";
}

const std::string pass_record =
    "<record><row><source_ip>192.0.2.1</source_ip><count>5</count><policy_evaluated>"
    "<disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>"
    "<identifiers><header_from>example.com</header_from></identifiers><auth_results>"
    "<dkim><domain>example.com</domain><result>pass</result></dkim>"
    "<dkim><domain>other.example</domain><result>fail</result></dkim>"
    "<spf><domain>bounce.example.com</domain><result>softfail</result></spf></auth_results>"
    "</record>";

}  // namespace

TEST_CASE("a report reads whole, in either schema") {
    for (const std::string ns : {"", "urn:ietf:params:xml:ns:dmarc-2.0"}) {
        auto parsed = parse_report(xml(pass_record, ns));
        REQUIRE_MESSAGE(std::holds_alternative<report>(parsed), std::get<std::string>(parsed));
        const auto& r = std::get<report>(parsed);
        CHECK(r.org_name == "Example Org");
        CHECK(r.report_id == "r-1");
        CHECK(r.begin == 100);
        CHECK(r.end == 200);
        CHECK(r.policy_domain == "example.com");
        CHECK(r.policy == "reject");
        REQUIRE(r.records.size() == 1);
        const auto& rec = r.records[0];
        CHECK(rec.source_ip == "192.0.2.1");
        CHECK(rec.count == 5);
        CHECK(rec.dkim_aligned);
        CHECK_FALSE(rec.spf_aligned);
        CHECK(rec.dkim_domain == "example.com");  // the first auth_results/dkim
        CHECK(rec.dkim_result == "pass");
        CHECK(rec.spf_result == "softfail");
    }
}

TEST_CASE("what is not a report says why") {
    auto why = [](const std::string& text) {
        auto r = parse_report(text);
        return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "parsed";
    };
    CHECK(why("<feedback><report_metadata>").starts_with("not well-formed XML"));
    CHECK(why("<html></html>").starts_with("not a DMARC aggregate report"));
    CHECK(why(xml("")) == "no <record>");
    CHECK(
        why(xml("<record><row><count>1</count></row></record>")) ==
        "a <record> without row/source_ip"
    );
    CHECK(why(xml("<record><row><source_ip>1.2.3.4</source_ip><count>many</count></row></record>"))
              .starts_with("feedback/record/row/count is not a number"));
    // No external entities, no entity expansion beyond XML's own.
    CHECK(
        why("<?xml version=\"1.0\"?><!DOCTYPE f [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
            "<feedback>&x;</feedback>") != "parsed"
    );
}

TEST_CASE("a bare XML body and junk are told apart") {
    auto found = extract_reports("From: a@b\r\nContent-Type: text/xml\r\n\r\n" + xml(pass_record));
    REQUIRE(found.size() == 1);
    CHECK(found[0].error.empty());
    CHECK(found[0].xml.find("<feedback>") != std::string::npos);
    CHECK(extract_reports("From: a@b\r\nContent-Type: text/plain\r\n\r\nhello\r\n").empty());
    auto broken_gzip = extract_reports(
        "From: a@b\r\nContent-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "H4sIAAAAAAAAAw==\r\n"
    );
    REQUIRE(broken_gzip.size() == 1);
    CHECK(broken_gzip[0].error.starts_with("gzip:"));
}

TEST_CASE("the store: a report once per reporter and id, sums per domain and source") {
    auto dir = fs::temp_directory_path() / ("outpost-dmarc-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::string error;
    auto s = store::open((dir / "dmarc.sqlite").string(), &error);
    REQUIRE_MESSAGE(s, error);
    auto r = std::get<report>(parse_report(xml(pass_record)));
    CHECK(s->add(r, 300) == store::added::yes);
    CHECK(s->add(r, 301) == store::added::duplicate);
    r.org_name = "Another Org";  // the same id from another reporter is another report
    r.records[0].spf_aligned = true;
    r.records[0].dkim_aligned = false;
    CHECK(s->add(r, 302) == store::added::yes);
    auto rows = s->sources(0, "");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].domain == "example.com");
    CHECK(rows[0].counts.messages == 10);
    CHECK(rows[0].counts.dkim_aligned == 5);
    CHECK(rows[0].counts.spf_aligned == 5);
    CHECK(rows[0].counts.dmarc_pass == 10);
    CHECK(s->reports(0) == 2);
    CHECK(s->reports(201) == 0);  // both ended at 200
    CHECK(s->sources(0, "other.example").empty());
    CHECK(s->reporters(0, "example.com").size() == 2);
    s.reset();
    fs::remove_all(dir);
}

TEST_CASE("warming health: the day's DMARC counts join the IP's history; a low rate fails it") {
    using namespace std::chrono;
    auto dir = fs::temp_directory_path() / ("outpost-dmarc-health-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto path = (dir / "dmarc.sqlite").string();
    outpost::shaping::memory_counter_store counts;
    health_counts health(counts, path);  // no reports file yet: the history as it is
    auto yesterday = floor<days>(system_clock::now()) - days(1);
    outpost::shaping::counter_key key{"192.0.2.1", "google", outpost::shaping::day(yesterday)};
    counts.add(key, {100, 0, 0, 0});
    auto before = health.history("192.0.2.1", "google", key.date, key.date + days(1));
    REQUIRE(before.size() == 1);
    CHECK(before.begin()->second.dmarc_messages == 0);

    std::string error;
    {
        auto s = store::open(path, &error);
        REQUIRE_MESSAGE(s, error);
        auto r = std::get<report>(parse_report(xml(pass_record)));
        auto begin = duration_cast<seconds>(yesterday.time_since_epoch()).count();
        r.begin = begin;
        r.end = begin + 86400;  // ends at midnight: about the day before it
        r.records[0].count = 30;
        auto failing = r.records[0];
        failing.dkim_aligned = failing.spf_aligned = false;
        failing.count = 70;
        r.records.push_back(failing);
        REQUIRE(s->add(r, begin + 90000) == store::added::yes);
    }
    health_counts fresh(counts, path);  // the first one would re-read only after a minute
    auto after = fresh.history("192.0.2.1", "google", key.date, key.date + days(1));
    REQUIRE(after.count(key.date) == 1);
    const auto& day = after.at(key.date);
    CHECK(day.sent == 100);
    CHECK(day.dmarc_messages == 100);
    CHECK(day.dmarc_pass == 30);
    CHECK(fresh.history("192.0.2.2", "google", key.date, key.date).empty());

    outpost::shaping::health_thresholds t;
    CHECK_FALSE(outpost::shaping::health_problem(day, t));  // off by default
    t.min_dmarc_pass_rate = 0.9;
    auto why = outpost::shaping::health_problem(day, t);
    REQUIRE(why);
    CHECK(*why == "DMARC pass rate 30.0% under 90.0% (30 of 100 reported)");
    auto few = day;
    few.dmarc_messages = 19;  // too few reported to judge
    few.dmarc_pass = 0;
    CHECK_FALSE(outpost::shaping::health_problem(few, t));
    fs::remove_all(dir);
}

TEST_CASE("a report goes to JSON and back whole (what a cluster's nodes share)") {
    auto r = std::get<report>(parse_report(xml(pass_record)));
    auto back = report_from_json(to_json(r));
    REQUIRE(back);
    CHECK(back->org_name == r.org_name);
    CHECK(back->report_id == r.report_id);
    CHECK(back->begin == 100);
    CHECK(back->end == 200);
    CHECK(back->policy_domain == "example.com");
    REQUIRE(back->records.size() == 1);
    CHECK(back->records[0].source_ip == "192.0.2.1");
    CHECK(back->records[0].count == 5);
    CHECK(back->records[0].dkim_aligned);
    CHECK_FALSE(back->records[0].spf_aligned);
    CHECK(back->records[0].spf_result == "softfail");
    CHECK_FALSE(report_from_json("{}"));
    CHECK_FALSE(
        report_from_json(R"({"org_name":"o","report_id":"i","begin":1,"end":2,"records":[]})")
    );
    CHECK_FALSE(report_from_json(
        R"({"org_name":"o","report_id":"i","begin":1,"end":2,"records":[{"count":1}]})"
    ));
}
