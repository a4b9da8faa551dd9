#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "core/listener/auth_limiter.hpp"
#include "core/listener/intake.hpp"
#include "core/listener/users.hpp"

using namespace outpost;
using namespace std::chrono_literals;

TEST_CASE("password hashes verify, are salted, and reject anything else") {
    auto h = listener::hash_password("correct horse", 2000);
    CHECK(h.starts_with("pbkdf2-sha256$2000$"));
    CHECK(listener::verify_password("correct horse", h));
    CHECK_FALSE(listener::verify_password("correct hors", h));
    CHECK_FALSE(listener::verify_password("", h));
    CHECK(listener::hash_password("correct horse", 2000) != h);
    CHECK_FALSE(listener::verify_password("x", "plain-text"));
    CHECK_FALSE(listener::verify_password("x", "pbkdf2-sha256$10$AAAAAAAAAAA=$AAAA"));
}

TEST_CASE("the users file round-trips and reports bad lines with their number") {
    auto path = std::filesystem::temp_directory_path() / "outpost-users-test";
    listener::user_table t;
    t.set("alice", listener::hash_password("pw-a", 2000));
    t.set("bob@example.com", listener::hash_password("pw-b", 2000));
    t.save(path);
    CHECK(
        (std::filesystem::status(path).permissions() & std::filesystem::perms::others_read) ==
        std::filesystem::perms::none
    );
    auto loaded = listener::user_table::load(path);
    REQUIRE(std::holds_alternative<listener::user_table>(loaded));
    auto& table = std::get<listener::user_table>(loaded);
    CHECK(table.verify("alice", "pw-a"));
    CHECK(table.verify("alice", "pw-a"));  // the cached path
    CHECK_FALSE(table.verify("alice", "pw-b"));
    CHECK(table.verify("bob@example.com", "pw-b"));
    CHECK_FALSE(table.verify("nobody", "pw-a"));

    std::ofstream(path) << "# comment\n\nalice:not-a-hash\n";
    auto bad = listener::user_table::load(path);
    REQUIRE(std::holds_alternative<std::string>(bad));
    CHECK(
        std::get<std::string>(bad) ==
        path.string() + ":3: the hash of \"alice\" is not pbkdf2-sha256$ITERATIONS$SALT$HASH"
    );
    std::filesystem::remove(path);
    CHECK(std::holds_alternative<listener::user_table>(listener::user_table::load(path, true)));
    CHECK(std::holds_alternative<std::string>(listener::user_table::load(path, false)));
}

TEST_CASE("user names are restricted") {
    CHECK(listener::valid_user_name("app-1.mailer@example.com"));
    CHECK_FALSE(listener::valid_user_name(""));
    CHECK_FALSE(listener::valid_user_name("a:b"));
    CHECK_FALSE(listener::valid_user_name("a b"));
    CHECK_FALSE(listener::valid_user_name(std::string(65, 'a')));
}

TEST_CASE("failed AUTH is limited per client inside the window") {
    listener::auth_limiter limiter(3, 10min);
    auto t0 = listener::auth_limiter::clock::time_point{} + 1h;
    for (int i = 0; i < 3; ++i) {
        CHECK_FALSE(limiter.locked_out("192.0.2.1", t0));
        limiter.record_failure("192.0.2.1", t0 + std::chrono::seconds(i));
    }
    CHECK(limiter.locked_out("192.0.2.1", t0 + 5s));
    CHECK_FALSE(limiter.locked_out("192.0.2.2", t0 + 5s));
    CHECK(limiter.locked_out("192.0.2.1", t0 + 10min - 1s));
    // A sliding window: once the oldest failure is older than the window, one more try is allowed.
    CHECK_FALSE(limiter.locked_out("192.0.2.1", t0 + 10min + 1s));
    CHECK(limiter.clients() == 1);
    CHECK_FALSE(limiter.locked_out("192.0.2.1", t0 + 10min + 3s));
    CHECK(limiter.clients() == 0);
}

TEST_CASE("the limiter's memory stays bounded") {
    listener::auth_limiter limiter(3, 1min, 100);
    auto t0 = listener::auth_limiter::clock::time_point{} + 1h;
    for (int i = 0; i < 1000; ++i)
        limiter.record_failure("10.0.0." + std::to_string(i), t0 + std::chrono::minutes(i));
    CHECK(limiter.clients() <= 101);
}

TEST_CASE("submission fixes: Received always, Date and Message-ID only when missing") {
    listener::intake_settings s{"relay.test", ""};
    smtp::envelope env;
    env.helo = "app.test";
    env.client_address = "192.0.2.7";
    env.protocol = "ESMTPSA";
    env.tls = "TLSv1.3 TLS_AES_256_GCM_SHA384";
    env.recipients.push_back({"b@example.net", 0, ""});
    auto p = listener::trace_prefix(
        s, "0123456789ABCDEF", env, "Subject: x\r\n\r\nbody\r\n", 1764000000
    );
    CHECK(
        p.starts_with("Received: from app.test ([192.0.2.7])\r\n\tby relay.test (Outpost) with "
                      "ESMTPSA id 0123456789ABCDEF\r\n")
    );
    CHECK(p.find("(using TLSv1.3 TLS_AES_256_GCM_SHA384)") != std::string::npos);
    CHECK(p.find("for <b@example.net>; ") != std::string::npos);
    CHECK(p.find("\r\nDate: ") != std::string::npos);
    CHECK(p.find("\r\nMessage-ID: <0123456789ABCDEF@relay.test>\r\n") != std::string::npos);
    CHECK(p.ends_with("\r\n"));

    env.recipients.push_back({"c@example.net", 0, ""});
    env.client_address = "2001:db8::1";
    auto q = listener::trace_prefix(
        s, "0123456789ABCDEF", env,
        "date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-Id: <x@y>\r\n\r\n", 1764000000
    );
    CHECK(q.find("[IPv6:2001:db8::1]") != std::string::npos);
    CHECK(q.find("for <") == std::string::npos);  // never disclose other recipients
    CHECK(q.find("Date:") == std::string::npos);
    CHECK(q.find("Message-ID:") == std::string::npos);
}
