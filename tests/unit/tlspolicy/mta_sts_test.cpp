#include "core/tlspolicy/mta_sts.hpp"

#include <filesystem>
#include <set>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <doctest/doctest.h>

#include "core/tlspolicy/cache.hpp"
#include "core/tlspolicy/dane.hpp"
#include "core/tlspolicy/sts_source.hpp"
#include "core/tlspolicy/tls_report.hpp"
#include "tests/support/run_coroutine.hpp"
#include "tests/unit/doctor/fake_dns.hpp"

using namespace outpost;
using namespace outpost::tlspolicy;

namespace {

std::string id_of(const std::vector<std::string>& records) {
    auto r = sts_record_id(records);
    if (auto* id = std::get_if<std::string>(&r))
        return *id;
    if (auto* e = std::get_if<parse_error>(&r))
        return "error: " + e->message;
    return "none";
}

sts_policy policy_of(std::string_view text) {
    auto r = parse_sts_policy(text);
    REQUIRE_MESSAGE(
        std::holds_alternative<sts_policy>(r),
        (std::holds_alternative<parse_error>(r) ? std::get<parse_error>(r).message : "")
    );
    return std::get<sts_policy>(r);
}

std::string error_of(std::string_view text) {
    auto r = parse_sts_policy(text);
    return std::holds_alternative<parse_error>(r) ? std::get<parse_error>(r).message : "parsed";
}

}  // namespace

TEST_CASE("the _mta-sts TXT record: its id, or no policy when there is none or more than one") {
    CHECK(id_of({"v=STSv1; id=20160831085700Z;"}) == "20160831085700Z");
    CHECK(id_of({"v=STSv1;id=abc"}) == "abc");
    CHECK(id_of({"v=spf1 -all", "v=STSv1; id=x1;"}) == "x1");  // other records are discarded
    CHECK(id_of({}) == "none");
    CHECK(id_of({"v=spf1 -all"}) == "none");
    CHECK(id_of({"v=STSv1; id=a;", "v=STSv1; id=b;"}) == "none");  // §3.1: more than one
    CHECK(id_of({"v=STSv1;"}).starts_with("error: no id"));
    CHECK(id_of({"v=STSv1; id=not-alnum;"}).starts_with("error"));
    CHECK(id_of({"v=STSv1; id=" + std::string(33, 'a') + ";"}).starts_with("error"));
    CHECK(id_of({"v=STSv1; id=ok; ext=1"}) == "ok");  // other fields are extensions
}

TEST_CASE("the policy file: RFC 8461's example, CRLF or LF, and every required field") {
    auto p = policy_of(
        "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
        "mx: backupmx.example.com\r\nmax_age: 604800\r\n"
    );
    CHECK(p.mode == sts_mode::enforce);
    CHECK(
        p.mx ==
        std::vector<std::string>{"mail.example.com", "*.example.net", "backupmx.example.com"}
    );
    CHECK(p.max_age == 604800);
    CHECK(
        policy_of("version: STSv1\nmode: testing\nmx: MX.Example.COM.\nmax_age: 86400").mx ==
        std::vector<std::string>{"mx.example.com"}
    );
    CHECK(policy_of("version: STSv1\nmode: none\nmax_age: 86400\n").mode == sts_mode::none);
    // max_age is capped at a year; unknown keys are ignored.
    CHECK(
        policy_of("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 9999999999\nfoo: bar\n")
            .max_age == 31557600
    );

    CHECK(error_of("mode: enforce\nmx: a.example\nmax_age: 1\n") == "no version");
    CHECK(error_of("version: STSv1\nmx: a.example\nmax_age: 1\n") == "no mode");
    CHECK(error_of("version: STSv1\nmode: enforce\nmx: a.example\n") == "no max_age");
    CHECK(error_of("version: STSv1\nmode: enforce\nmax_age: 1\n") == "no mx");
    CHECK(
        error_of("version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n").find("version") !=
        std::string::npos
    );
    CHECK(
        error_of("version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n").find("mode") !=
        std::string::npos
    );
    CHECK(
        error_of("version: STSv1\nmode: enforce\nmx: a\nmax_age: -1\n").find("max_age") !=
        std::string::npos
    );
    CHECK(
        error_of("version: STSv1\nmode: enforce\nmx: .\nmax_age: 1\n").find("mx") !=
        std::string::npos
    );
    CHECK(
        error_of("version: STSv1\nmode: enforce\nmx: mx..example\nmax_age: 1\n").find("mx") !=
        std::string::npos
    );
    CHECK(
        error_of("version: STSv1\nmode: enforce\nmx: mx example\nmax_age: 1\n").find("mx") !=
        std::string::npos
    );
    CHECK(
        error_of("version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n").find("mx") !=
        std::string::npos
    );
    CHECK(error_of("<html>not a policy</html>").find("no ':'") != std::string::npos);
}

TEST_CASE("MX patterns: exact names, and a wildcard for exactly one leftmost label") {
    CHECK(mx_matches("mail.example.com", "mail.example.com"));
    CHECK(mx_matches("mail.example.com", "MAIL.Example.com."));
    CHECK_FALSE(mx_matches("mail.example.com", "mail2.example.com"));
    CHECK(mx_matches("*.example.net", "mx1.example.net"));
    CHECK_FALSE(mx_matches("*.example.net", "example.net"));
    CHECK_FALSE(mx_matches("*.example.net", "a.b.example.net"));
    CHECK_FALSE(mx_matches("*.example.net", "evil-example.net"));
    sts_policy p;
    p.mx = {"mail.example.com", "*.example.net"};
    CHECK(mx_allowed(p, "x.example.net"));
    CHECK_FALSE(mx_allowed(p, "mx.attacker.test"));
}

namespace {

struct fixture {
    doctor::test::fake_dns dns;
    std::int64_t now = 1'800'000'000;
    std::map<std::string, std::string> served;  // domain → policy file; absent: fetch fails
    std::vector<std::string> fetched;
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("outpost-sts-" + std::to_string(::getpid()));
    std::unique_ptr<policy_cache> cache;

    fixture() {
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        reopen();
    }

    ~fixture() { std::filesystem::remove_all(dir); }

    void reopen() {
        cache.reset();
        std::string error;
        cache = policy_cache::open((dir / "mta-sts.sqlite").string(), &error);
        REQUIRE_MESSAGE(cache, error);
    }

    sts_source source() {
        return sts_source(
            dns,
            [this](std::string domain
            ) -> boost::asio::awaitable<std::variant<std::string, fetch_error>> {
                fetched.push_back(domain);
                auto it = served.find(domain);
                if (it == served.end())
                    co_return fetch_error{"connect: refused"};
                co_return it->second;
            },
            cache.get(), [this] { return now; }
        );
    }

    std::optional<active_policy> ask(sts_source& s, const std::string& domain) {
        return test::run(s.policy_for(domain));
    }
};

const char* enforce_a = "version: STSv1\nmode: enforce\nmx: mx.a.example\nmax_age: 86400\n";
const char* enforce_b = "version: STSv1\nmode: enforce\nmx: mx.b.example\nmax_age: 86400\n";

}  // namespace

TEST_CASE("a policy is fetched once per TXT id, and fetched again when the id changes") {
    fixture f;
    f.dns.txt_records["_mta-sts.example.com"] = {"v=STSv1; id=1;"};
    f.served["example.com"] = enforce_a;
    auto s = f.source();
    auto p = f.ask(s, "example.com");
    REQUIRE(p);
    CHECK(p->id == "1");
    CHECK(p->policy.mx == std::vector<std::string>{"mx.a.example"});
    CHECK(p->expires == f.now + 86400);
    CHECK(f.ask(s, "example.com"));
    CHECK(f.fetched.size() == 1);  // same id: the cached policy

    f.dns.txt_records["_mta-sts.example.com"] = {"v=STSv1; id=2;"};
    f.served["example.com"] = enforce_b;
    p = f.ask(s, "example.com");
    REQUIRE(p);
    CHECK(p->id == "2");
    CHECK(p->policy.mx == std::vector<std::string>{"mx.b.example"});
    CHECK(f.fetched.size() == 2);
}

TEST_CASE(
    "a cached policy holds through a restart, and through DNS and HTTPS failures, until max_age"
) {
    fixture f;
    f.dns.txt_records["_mta-sts.example.com"] = {"v=STSv1; id=1;"};
    f.served["example.com"] = enforce_a;
    {
        auto s = f.source();
        REQUIRE(f.ask(s, "example.com"));
    }
    f.reopen();  // a restart: a new source over the same file
    f.served.clear();
    f.dns.failing["_mta-sts.example.com"] = dns::status::servfail;
    auto s = f.source();
    auto p = f.ask(s, "example.com");
    REQUIRE(p);
    CHECK(p->id == "1");
    CHECK(f.fetched.size() == 1);

    // A failed look-up is not repeated for a minute.
    f.dns.failing.clear();
    f.now += 61;
    // The TXT record gone (an attacker can remove it): the policy stays in force.
    f.dns.txt_records.clear();
    CHECK(f.ask(s, "example.com"));
    // A new id whose policy cannot be fetched: the old one stays in force.
    f.dns.txt_records["_mta-sts.example.com"] = {"v=STSv1; id=2;"};
    p = f.ask(s, "example.com");
    REQUIRE(p);
    CHECK(p->id == "1");
    CHECK(f.fetched.size() == 2);
    // Past max_age, with nothing to fetch: no policy.
    f.now += 86400;
    CHECK_FALSE(f.ask(s, "example.com"));
}

TEST_CASE("no policy: no TXT record, a broken policy file, or mode none") {
    fixture f;
    auto s = f.source();
    CHECK_FALSE(f.ask(s, "plain.example"));
    CHECK(f.fetched.empty());

    f.dns.txt_records["_mta-sts.broken.example"] = {"v=STSv1; id=1;"};
    f.served["broken.example"] = "<html>404</html>";
    CHECK_FALSE(f.ask(s, "broken.example"));
    CHECK_FALSE(f.cache->get("broken.example"));

    f.dns.txt_records["_mta-sts.off.example"] = {"v=STSv1; id=1;"};
    f.served["off.example"] = "version: STSv1\nmode: none\nmax_age: 86400\n";
    CHECK_FALSE(f.ask(s, "off.example"));
    CHECK(f.cache->get("off.example"));  // remembered: mode none is a policy too
}

TEST_CASE(
    "a failed fetch is not repeated for five minutes; a policy in use is renewed at half its age"
) {
    fixture f;
    f.dns.txt_records["_mta-sts.example.com"] = {"v=STSv1; id=1;"};
    auto s = f.source();
    CHECK_FALSE(f.ask(s, "example.com"));
    CHECK_FALSE(f.ask(s, "example.com"));
    CHECK(f.fetched.size() == 1);  // the failure is remembered for this id
    f.served["example.com"] = enforce_a;
    f.now += 301;
    REQUIRE(f.ask(s, "example.com"));
    CHECK(f.fetched.size() == 2);

    // Same id, before half of max_age: the policy as it is; after: fetched again.
    f.now += 43000;
    CHECK(f.ask(s, "example.com"));
    CHECK(f.fetched.size() == 2);
    f.now += 300;
    f.served["example.com"] = enforce_b;
    auto p = f.ask(s, "example.com");
    REQUIRE(p);
    CHECK(f.fetched.size() == 3);
    CHECK(p->policy.mx == std::vector<std::string>{"mx.b.example"});
    CHECK(p->expires == f.now + 86400);
    // A renewal that fails keeps the policy in force.
    f.now += 43300;
    f.served.clear();
    p = f.ask(s, "example.com");
    REQUIRE(p);
    CHECK(f.fetched.size() == 4);
    CHECK(p->policy.mx == std::vector<std::string>{"mx.b.example"});
}

TEST_CASE("batches asking for one domain at once share one fetch") {
    fixture f;
    f.dns.txt_records["_mta-sts.example.com"] = {"v=STSv1; id=1;"};
    f.dns.ttl = std::chrono::seconds(300);  // the TXT answer is good for a while
    boost::asio::io_context io;
    int fetches = 0;
    sts_source s(
        f.dns,
        [&](std::string) -> boost::asio::awaitable<std::variant<std::string, fetch_error>> {
            ++fetches;
            boost::asio::steady_timer slow(io, std::chrono::milliseconds(20));
            co_await slow.async_wait(boost::asio::use_awaitable);
            co_return std::string(enforce_a);
        },
        f.cache.get(), [&] { return f.now; }
    );
    int with_policy = 0;
    for (int i = 0; i < 3; ++i)
        boost::asio::co_spawn(
            io, s.policy_for("example.com"),
            [&](std::exception_ptr e, std::optional<active_policy> p) {
                REQUIRE_FALSE(e);
                with_policy += p.has_value();
            }
        );
    io.run();
    CHECK(fetches == 1);
    CHECK(with_policy == 3);  // none went ahead without the policy being fetched
}

TEST_CASE("a policy with more than 100 mx lines is refused") {
    std::string text = "version: STSv1\nmode: enforce\nmax_age: 86400\n";
    for (int i = 0; i < 100; ++i)
        text += "mx: mx" + std::to_string(i) + ".example.com\n";
    CHECK(policy_of(text).mx.size() == 100);
    text += "mx: one-more.example.com\n";
    CHECK(error_of(text).find("more than 100 mx") != std::string::npos);
}

TEST_CASE("TLS-RPT: sessions counted per day, policy and result make RFC 8460's report") {
    fixture f;
    f.dns.txt_records["_mta-sts.example.com"] = {"v=STSv1; id=1;"};
    f.served["example.com"] =
        "version: STSv1\r\nmode: enforce\r\nmx: mx.example.com\r\nmx: *.example.net\r\n"
        "max_age: 86400\r\n";
    auto s = f.source();
    REQUIRE(f.ask(s, "example.com"));
    f.now = 1'800'000'000;  // 2027-01-15
    s.count_session({{}, "example.com", "1", "", "mx.example.com", "192.0.2.1", "", 1});
    s.count_session({{}, "example.com", "1", "", "mx.example.com", "192.0.2.1", "", 1});
    s.count_session(
        {{},
         "example.com",
         "1",
         "certificate-expired",
         "a.example.net",
         "192.0.2.2",
         "198.51.100.7",
         1}
    );
    s.count_session({{}, "example.com", "1", "mx-mismatch", "mx.evil.test", {}, {}, 1});
    s.count_session({{}, "other.example", "9", "", "mx.other.example", "192.0.2.9", "", 1});
    auto rows = f.cache->sessions("2027-01-15", "example.com");
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].result.empty());
    CHECK(rows[0].count == 2);
    CHECK(f.cache->sessions("2027-01-16", "").empty());

    auto json = compose_tls_report(
        {"Example Sender", "postmaster@sender.example", "r1"}, "2027-01-15", "example.com",
        f.cache->day_policies("2027-01-15", ""), f.cache->sessions("2027-01-15", "")
    );
    // Fields and values RFC 8460 §4.4 asks for.
    for (const char* want :
         {R"("organization-name":"Example Sender")",
          R"("date-range":{"start-datetime":"2027-01-15T00:00:00Z","end-datetime":"2027-01-15T23:59:59Z"})",
          R"("contact-info":"postmaster@sender.example")", R"("report-id":"r1")",
          R"("policy-type":"sts")", R"("policy-domain":"example.com")",
          R"("policy-string":["version: STSv1","mode: enforce","mx: mx.example.com","mx: *.example.net","max_age: 86400"])",
          R"("mx-host":["mx.example.com","*.example.net"])",
          R"("total-successful-session-count":2)", R"("total-failure-session-count":2)",
          R"("result-type":"certificate-expired","sending-mta-ip":"198.51.100.7","receiving-mx-hostname":"a.example.net","receiving-ip":"192.0.2.2","failed-session-count":1)",
          R"("result-type":"validation-failure")", R"("failure-reason-code":"mx-not-in-policy")"})
        CHECK_MESSAGE(json.find(want) != std::string::npos, want, " in ", json);
    CHECK(json.find("other.example") == std::string::npos);
}

TEST_CASE("TLS-RPT: a DANE host's sessions make a tlsa policy with its records and host") {
    fixture f;
    f.now = 1'800'000'000;  // 2027-01-15
    auto s = f.source();
    std::string records = "3 1 1 ABCD\n2 0 1 EF01\n";
    s.count_session(
        {{},
         "dane.example",
         dane_policy_id("mx.dane.example"),
         "",
         "mx.dane.example",
         "192.0.2.5",
         "",
         1,
         records}
    );
    s.count_session(
        {{},
         "dane.example",
         dane_policy_id("mx.dane.example"),
         "tlsa-invalid",
         "mx.dane.example",
         "192.0.2.5",
         "",
         1,
         records}
    );
    auto json = compose_tls_report(
        {"Example Sender", "postmaster@sender.example", "r2"}, "2027-01-15", "dane.example",
        f.cache->day_policies("2027-01-15", ""), f.cache->sessions("2027-01-15", "")
    );
    for (const char* want :
         {R"("policy-type":"tlsa")", R"("policy-domain":"dane.example")",
          R"("policy-string":["3 1 1 ABCD","2 0 1 EF01"])", R"("mx-host":["mx.dane.example"])",
          R"("total-successful-session-count":1)", R"("total-failure-session-count":1)",
          R"("result-type":"tlsa-invalid")"})
        CHECK_MESSAGE(json.find(want) != std::string::npos, want, " in ", json);
    CHECK(json.find("\"sts\"") == std::string::npos);
}

TEST_CASE("TLS-RPT: finished days not yet reported, the addresses answered, and the mark") {
    fixture f;
    for (const char* day : {"2027-01-13", "2027-01-14", "2027-01-15"})
        f.cache->count_session({day, "example.com", "1", "", "mx.example.com", "", "", 1});
    f.cache->count_session({"2027-01-14", "other.example", "2", "", "mx.other", "", "", 1});
    using pair = std::pair<std::string, std::string>;
    // Days from the first up to, not including, the second: today's report is not finished.
    CHECK(
        f.cache->unreported("2027-01-14", "2027-01-15") ==
        std::vector<pair>{{"2027-01-14", "example.com"}, {"2027-01-14", "other.example"}}
    );
    CHECK(f.cache->report_addresses("2027-01-14", "example.com").empty());
    CHECK(f.cache->note_report_address("2027-01-14", "example.com", "a@example.com"));
    CHECK(f.cache->note_report_address("2027-01-14", "example.com", "a@example.com"));  // once
    CHECK(
        f.cache->report_addresses("2027-01-14", "example.com") ==
        std::set<std::string>{"a@example.com"}
    );
    CHECK(f.cache->report_addresses("2027-01-14", "other.example").empty());
    CHECK(f.cache->mark_reported("2027-01-14", "example.com", "delivered", 1'800'000'000));
    CHECK(f.cache->reported("2027-01-14", "example.com") == "delivered");
    CHECK(
        f.cache->unreported("2027-01-13", "2027-01-16") ==
        std::vector<pair>{
            {"2027-01-13", "example.com"},
            {"2027-01-14", "other.example"},
            {"2027-01-15", "example.com"}}
    );
    // The mark outlives a restart.
    f.reopen();
    CHECK(f.cache->reported("2027-01-14", "example.com") == "delivered");
}
