#include "config/diff.hpp"

#include <algorithm>

#include <doctest/doctest.h>

#include "tests/support/config_text.hpp"

using namespace outpost::config;

namespace {

using outpost::test::config_from;

bool has(const std::vector<std::string>& lines, const std::string& text) {
    return std::find(lines.begin(), lines.end(), text) != lines.end();
}

const char* base = R"(
[[throttle]]
domain = "example.com"
rate = "60/min"

[[source_ip]]
address = "127.0.0.2"
warming = "w"
warming_start = "2026-11-20"

[warming.w]
daily = [5, 10]
)";

}  // namespace

TEST_CASE("the same config twice changes nothing") {
    CHECK(describe_changes(config_from(base), config_from(base)).empty());
}

TEST_CASE("a reload names the caps and rates it changes, and what waits for a restart") {
    auto before = config_from(base);
    auto after = config_from(std::string(base) + R"(
[[throttle]]
domain = "orange.fr"
rate = "2/s"
)");
    after.throttles.at(0).rate = "120/min";
    after.warming.at("w").daily = {50, 100};
    after.limits.max_recipients = 10;
    after.bounce.soft_bounce_limit = 9;
    after.listeners.push_back(after.listeners.empty() ? listener{} : after.listeners.front());
    after.listeners.back().address = {"127.0.0.1", 2525};
    after.listeners.back().priority = "high";
    auto lines = describe_changes(before, after);
    CHECK(lines.size() == 6);
    CHECK(
        has(lines,
            "throttle example.com: rate 60/min, max_connections 0, max_messages_per_connection 0 → "
            "rate 120/min, max_connections 0, max_messages_per_connection 0")
    );
    CHECK(
        has(lines,
            "added throttle orange.fr: rate 2/s, max_connections 0, max_messages_per_connection 0")
    );
    auto caps = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.starts_with("warming w: daily [5, 10]");
    });
    REQUIRE(caps != lines.end());
    CHECK(caps->find("→ daily [50, 100]") != std::string::npos);
    auto limits = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.starts_with("limits: ");
    });
    REQUIRE(limits != lines.end());
    CHECK_FALSE(limits->ends_with("(applies on restart)"));
    auto listeners = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.starts_with("listeners: ");
    });
    REQUIRE(listeners != lines.end());
    CHECK(listeners->ends_with("127.0.0.1:2525 tls=none auth=optional priority=high]"));
    auto bounce = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
        return l.starts_with("bounce: ");
    });
    REQUIRE(bounce != lines.end());
    CHECK(bounce->ends_with("(applies on restart)"));
    auto removed = describe_changes(after, before);
    CHECK(has(removed, "removed throttle orange.fr"));
}
