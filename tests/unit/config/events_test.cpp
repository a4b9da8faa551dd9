// [events] and [[webhook]]: defaults, the secret file, and errors at FILE:LINE:COL.
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/config_text.hpp"

using namespace outpost::config;
using outpost::test::config_error_of;
using outpost::test::config_from;

namespace {

int files_made = 0;

struct secret_file {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("outpost-webhook-" + std::to_string(::getpid()) +
                                                  "-" + std::to_string(++files_made) + ".secret");

    explicit secret_file(const std::string& text, mode_t mode = 0600) {
        std::ofstream(path) << text;
        ::chmod(path.c_str(), mode);
    }

    ~secret_file() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("the event log is on by default, with no webhooks") {
    auto c = config_from("");
    CHECK(c.events.enabled);
    CHECK(c.events.retention == std::chrono::hours(24 * 7));
    CHECK(c.events.tag_header == "X-Outpost-Tag");
    CHECK(c.webhooks.empty());
    CHECK_FALSE(config_from("[events]\nenabled = false\n").events.enabled);
}

TEST_CASE("a webhook is read with its secret and defaults") {
    secret_file s("whsec-0123456789abcdef\n");
    auto c = config_from(
        "[[webhook]]\nurl = \"https://hooks.example.com/outpost\"\nsecret_file = \"" +
        s.path.string() + "\"\nevents = [\"bounced\", \"complaint\"]\n"
    );
    REQUIRE(c.webhooks.size() == 1);
    const auto& w = c.webhooks[0];
    CHECK(w.name == "hooks.example.com");
    CHECK(w.secret == "whsec-0123456789abcdef");
    CHECK(w.events == std::vector<std::string>{"bounced", "complaint"});
    CHECK(w.batch_size == 100);
    CHECK(w.timeout == std::chrono::seconds(10));
}

TEST_CASE("webhook errors name the line and column, never the secret") {
    secret_file s("whsec-0123456789abcdef\n");
    auto hook = [&](const std::string& more) {
        return "[[webhook]]\nurl = \"https://h.example/x\"\nsecret_file = \"" + s.path.string() +
               "\"\n" + more;
    };
    CHECK(config_error_of("[[webhook]]\nurl = \"http://hooks.example.com/\"\nsecret_file = \"/x\"\n"
    )
              .starts_with("t.toml:2:7: webhook.url \"http://hooks.example.com/\" is http:// to a "
                           "host that is not loopback"));
    CHECK(config_error_of(hook("events = [\"opened\"]\n"))
              .starts_with("t.toml:4:10: webhook.events: unknown event \"opened\""));
    CHECK(config_error_of(hook("batch_size = 0\n")).starts_with("t.toml:4:14: webhook.batch_size"));
    CHECK(config_error_of(hook("name = \"a/b\"\n")).starts_with("t.toml:4:8: webhook.name"));
    CHECK(config_error_of(hook("") + hook(""))
              .starts_with("t.toml:5:7: a second [[webhook]] named \"h.example\""));
    CHECK(config_error_of(hook("[events]\nenabled = false\n"))
              .starts_with("t.toml:4:1: events.enabled = false, but [[webhook]]"));
    secret_file short_one("short\n");
    auto too_short = config_error_of(
        "[[webhook]]\nurl = \"https://h.example/\"\nsecret_file = \"" + short_one.path.string() +
        "\"\n"
    );
    CHECK(too_short.find("at least 16 characters") != std::string::npos);
    CHECK(too_short.find("short\"") == std::string::npos);
    CHECK(config_error_of("[events]\nretention = \"5m\"\n")
              .starts_with("t.toml:2:13: events.retention must be at least 1h"));
}
