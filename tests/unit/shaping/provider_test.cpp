#include "core/shaping/provider.hpp"

#include <doctest/doctest.h>

#include "core/shaping/slowdown.hpp"

using namespace outpost::shaping;
using outpost::smtp::reply;

TEST_CASE("host patterns match subdomains case-insensitively, not the bare name") {
    CHECK(host_matches("*.google.com", "aspmx.l.google.com"));
    CHECK(host_matches("*.google.com", "ALT1.ASPMX.L.GOOGLE.COM."));
    CHECK_FALSE(host_matches("*.google.com", "google.com"));
    CHECK_FALSE(host_matches("*.google.com", "notgoogle.com"));
    CHECK_FALSE(host_matches("*.google.com", "google.com.evil.example"));
    CHECK(host_matches("mx.example.com", "MX.example.com"));
    CHECK_FALSE(host_matches("mx.example.com", "a.mx.example.com"));
}

TEST_CASE("host patterns are validated") {
    CHECK(valid_host_pattern("*.google.com"));
    CHECK(valid_host_pattern("mx1.example.com"));
    CHECK_FALSE(valid_host_pattern("*google.com"));
    CHECK_FALSE(valid_host_pattern("a..b"));
    CHECK_FALSE(valid_host_pattern("*."));
    CHECK_FALSE(valid_host_pattern("mx_1.example.com"));
    CHECK_FALSE(valid_host_pattern(""));
}

TEST_CASE("destinations map to providers by domain, then MX, else default") {
    provider_map m({
        {"google", {"*.google.com", "*.googlemail.com"}, {"gmail.com", "googlemail.com"}},
        {"microsoft", {"*.outlook.com"}, {}},
    });
    std::vector<std::string> none;
    std::vector<std::string> workspace = {"aspmx.l.google.com", "alt1.aspmx.l.google.com"};
    std::vector<std::string> o365 = {"example-org.mail.protection.outlook.com"};
    std::vector<std::string> own = {"mx.example.org"};
    CHECK(m.match("gmail.com", none) == "google");
    CHECK(m.match("company.example", workspace) == "google");
    CHECK(m.match("example.org", o365) == "microsoft");
    CHECK(m.match("example.org", own) == default_provider);
    CHECK(m.match_domain("company.example") == default_provider);
    CHECK(m.match_host("mx.outlook.com") == "microsoft");
    CHECK(provider_map{}.match("gmail.com", workspace) == default_provider);
}

TEST_CASE("the embedded slow-down table parses") {
    std::string error;
    auto rules = parse_slowdown_rules(detail::embedded_slowdown_rules(), &error);
    REQUIRE_MESSAGE(rules, error);
    CHECK(rules->size() > 20);
    CHECK(slowdown_rules().size() == rules->size());
}

TEST_CASE("malformed slow-down rows are reported with their line") {
    std::string error;
    CHECK_FALSE(parse_slowdown_rules("# c\n421\t*\t*\n", &error));
    CHECK(error.starts_with("2: "));
    CHECK_FALSE(parse_slowdown_rules("550\t*\t*\twhy\n", &error));
    CHECK(error.find("550") != std::string::npos);
    CHECK_FALSE(parse_slowdown_rules("4xx\t5.7.1\t*\twhy\n", &error));
    CHECK(parse_slowdown_rules("4xx\t4.7.*\trate\twhy\n", &error)->size() == 1);
}

TEST_CASE("slow-down replies of the big providers are recognized") {
    struct {
        reply r;
        reply_class want;
    } cases[] = {
        {{421, "4.7.0", "try later"}, reply_class::slow_down},
        {{421, "", "Too many connections"}, reply_class::slow_down},
        {{421, "4.7.28",
          "Our system has detected an unusual rate of unsolicited mail\n"
          "originating from your IP address."},
         reply_class::slow_down},
        {{451, "4.7.650",
          "The mail server [203.0.113.10] has been temporarily rate limited due "
          "to IP reputation."},
         reply_class::slow_down},
        {{451, "4.7.500", "Server busy. Please try again later from [203.0.113.10]. (S77714)"},
         reply_class::slow_down},
        {{421, "4.7.0",
          "[TSS04] Messages from 203.0.113.10 temporarily deferred due to "
          "unexpected volume or user complaints"},
         reply_class::slow_down},
        {{450, "4.2.1",
          "The user you are trying to contact is receiving mail at a rate that\n"
          "prevents additional messages from being delivered."},
         reply_class::slow_down},
        {{452, "4.3.1", "Insufficient system storage"}, reply_class::normal},
        {{450, "4.7.1", "Greylisted, see https://example.org/greylisting"}, reply_class::normal},
        {{451, "4.3.0", "Temporary local problem"}, reply_class::normal},
        {{550, "5.7.1", "rate limit exceeded"}, reply_class::normal},  // permanent: a bounce
        {{250, "2.0.0", "OK"}, reply_class::normal},
    };

    for (const auto& c : cases)
        CHECK_MESSAGE(classify(c.r) == c.want, c.r.code, " ", c.r.enhanced, " ", c.r.text);
    auto* rule = match_slowdown(reply{421, "4.7.28", "x"});
    REQUIRE(rule);
    CHECK(rule->why.find("421") == std::string::npos);  // RFC row comes first: "RFC 5321"
}
