#include <doctest/doctest.h>
#include <fmt/format.h>

#include "config/load.hpp"
#include "tests/support/config_text.hpp"

using namespace outpost::config;

namespace {

using outpost::test::config_error_of;
using outpost::test::config_from;

const char* providers = R"(
[[provider]]
name = "google"
mx = ["*.google.com", "*.googlemail.com"]
domains = ["gmail.com"]
rate = "100/min"
max_connections = 10
)";

}  // namespace

TEST_CASE("warming schedules read overrides, ceiling, time zone, health gates and overflow") {
    auto c = config_from(std::string(providers) + R"(
[[source_ip]]
address = "203.0.113.10"
warming = "standard"
warming_start = "2026-11-20"

[[source_ip]]
address = "198.51.100.7"

[warming.standard]
daily = [500, 1000, 2000]
ceiling = 40000
time_zone = "+01:00"
pace = false
max_deferral_rate = 0.2
max_bounce_rate = 0
max_complaint_rate = 0.001
on_unhealthy = "step_back"
overflow = ["198.51.100.7"]

[warming.standard.provider.google]
daily = [200, 400]
)");
    const auto& w = c.warming.at("standard");
    CHECK(w.daily.size() == 3);
    CHECK(w.provider.at("google") == std::vector<std::uint64_t>{200, 400});
    CHECK(w.ceiling == 40000u);
    CHECK(w.time_zone == "+01:00");
    CHECK_FALSE(w.pace);
    CHECK(w.max_deferral_rate == doctest::Approx(0.2));
    CHECK(w.max_bounce_rate == 0);
    CHECK(w.max_complaint_rate == doctest::Approx(0.001));
    CHECK(w.on_unhealthy == "step_back");
    CHECK(w.overflow == std::vector<std::string>{"198.51.100.7"});
    CHECK(c.providers.at(0).rate == "100/min");
}

TEST_CASE("warming defaults: UTC, paced, hold, no ceiling") {
    auto c = config_from("[warming.w]\ndaily = [1]\n");
    const auto& w = c.warming.at("w");
    CHECK(w.time_zone == "UTC");
    CHECK(w.pace);
    CHECK(w.on_unhealthy == "hold");
    CHECK_FALSE(w.ceiling);
    CHECK(w.max_deferral_rate == doctest::Approx(0.10));
    CHECK(c.delivery.priority_header == "X-Outpost-Priority");
}

TEST_CASE("listener priority and the priority header are read") {
    auto c = config_from(R"(
[[listener]]
address = "127.0.0.1:2525"
priority = "high"
[delivery]
priority_header = "X-Priority-Class"
)");
    CHECK(c.listeners.at(0).priority == "high");
    CHECK(c.delivery.priority_header == "X-Priority-Class");
    CHECK(config_error_of("[[listener]]\naddress = \"127.0.0.1:1\"\npriority = \"urgent\"\n")
              .starts_with("t.toml:3:12: listener.priority must be one of"));
    CHECK(config_error_of("[delivery]\npriority_header = \"X Prio\"\n").starts_with("t.toml:2:19: ")
    );
}

TEST_CASE("bad shaping values are reported at their FILE:LINE:COL") {
    CHECK(
        config_error_of("[warming.w]\nceiling = -1\n").starts_with("t.toml:2:11: warming.w.ceiling")
    );
    CHECK(config_error_of("[warming.w]\ntime_zone = \"Europe/Paris\"\n")
              .starts_with("t.toml:2:13: warming.w.time_zone \"Europe/Paris\" must be \"UTC\""));
    CHECK(config_error_of("[warming.w]\nmax_bounce_rate = 5\n")
              .starts_with("t.toml:2:19: warming.w.max_bounce_rate must be a fraction"));
    CHECK(config_error_of("[warming.w]\nmax_bounce_rate = \"5%\"\n").starts_with("t.toml:2:19: "));
    CHECK(config_error_of("[warming.w]\non_unhealthy = \"panic\"\n").starts_with("t.toml:2:16: "));
    CHECK(config_error_of("[warming.w]\noverflow = [\"mx.example\"]\n")
              .starts_with("t.toml:2:13: warming.w.overflow must list source IP addresses"));
    CHECK(config_error_of("[[source_ip]]\naddress = \"198.51.100.8\"\n[warming.w]\n"
                          "overflow = [\"198.51.100.7\"]\n")
              .starts_with("t.toml:4:13: warming.w.overflow names 198.51.100.7, which is no "
                           "[[source_ip]]"));
    CHECK(config_error_of("[warming.w]\npace = 1\n").starts_with("t.toml:2:8: "));
    CHECK(
        config_error_of("[warming.w]\nceilng = 5\n").find("did you mean \"ceiling\"") !=
        std::string::npos
    );
    CHECK(config_error_of("[[throttle]]\ndomain = \"orange.fr\"\nrate = \"60/fortnight\"\n")
              .starts_with("t.toml:3:8: throttle.rate \"60/fortnight\" must be COUNT/UNIT"));
    CHECK(config_error_of("[[provider]]\nname = \"g\"\nrate = \"0/min\"\n")
              .starts_with("t.toml:3:8: "));
    CHECK(config_error_of("[[provider]]\nname = \"g\"\nmx = [\"*google.com\"]\n")
              .starts_with("t.toml:3:6: provider.mx \"*google.com\""));
    CHECK(config_error_of("[[provider]]\nname = \"g\"\n[[provider]]\nname = \"g\"\n")
              .starts_with("t.toml:4:8: provider.name \"g\" is used twice"));
    CHECK(config_error_of(
              "[[source_ip]]\naddress = \"203.0.113.10\"\nwarming_start = \"2026-02-30\"\n"
    )
              .starts_with("t.toml:3:17: source_ip.warming_start \"2026-02-30\" must be a date"));
    CHECK(config_error_of("[warming.w]\ndaily = [1]\n[[source_ip]]\naddress = \"203.0.113.10\"\n"
                          "warming = \"w\"\n")
              .starts_with("t.toml:5:11: source_ip.warming needs warming_start"));
    CHECK(
        config_error_of("[warming.w]\ndaily = [1]\n[warming.w.provider.gogle]\ndaily = [1]\n")
            .find("warming.w.provider.gogle names no [[provider]]") != std::string::npos
    );
    CHECK(config_error_of("[[source_ip]]\naddress = \"203.0.113.10\"\n[[source_ip]]\n"
                          "address = \"203.0.113.10\"\n")
              .starts_with("t.toml:4:11: source_ip.address 203.0.113.10 is listed twice (first "
                           "at line 2)"));
    CHECK(config_error_of("[warming.w]\ndaily = []\n")
              .starts_with("t.toml:2:9: warming.w.daily must list at least one day"));
    CHECK(config_error_of("[warming.w]\ndaily = [100, 500, 200, 800]\n")
              .starts_with("t.toml:2:20: warming.w.daily: day 3 (200) is lower than day 2 (500)"));
    CHECK(config_error_of("[warming.w]\ndaily = [1]\n[warming.w.provider.default]\n"
                          "daily = [5, 4]\n")
              .find("warming.w.provider.default.daily: day 2 (4) is lower than day 1 (5)") !=
          std::string::npos);
}

TEST_CASE("the rates of the documentation are accepted") {
    for (auto r : {"60/min", "5/s", "1000/h", "20000/day", "10 / minute"}) {
        auto c =
            config_from(fmt::format("[[throttle]]\ndomain = \"x.example\"\nrate = \"{}\"\n", r));
        CHECK(c.throttles.at(0).rate == r);
    }
    auto c = config_from("[warming.w]\ndaily = [1]\n[warming.w.provider.default]\ndaily = [2]\n");
    CHECK(c.warming.at("w").provider.count("default") == 1);
}
