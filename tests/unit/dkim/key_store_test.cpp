// Unit tests for dkim::key_store: keys named by the configuration load, and bad key files are
// configuration errors that point at the private_key line.
#include "core/dkim/key_store.hpp"

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/load.hpp"
#include "tests/unit/dkim/test_support.hpp"

using namespace outpost;
using namespace outpost::dkim;

namespace {

namespace fs = std::filesystem;

struct temp_dir {
    fs::path path;

    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "outpost-keystore-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }

    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    ~temp_dir() { fs::remove_all(path); }

    std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) {
        auto p = (path / name).string();
        std::ofstream(p, std::ios::binary) << text;
        ::chmod(p.c_str(), mode);
        return p;
    }
};

std::string config_text(const std::string& key, const std::string& algorithm) {
    // The private_key line is line 6, its value starts at column 15.
    return "[server]\n"
           "hostname = \"mta.example.com\"\n"
           "[[dkim]]\n"
           "domain = \"example.com\"\n"
           "selector = \"s1\"\n"
           "private_key = \"" +
           key + "\"\nalgorithm = \"" + algorithm + "\"\n";
}

// The error of loading the configuration and then its keys, or "" when both succeed.
std::string load_error_of(const std::string& text) {
    auto c = config::load_string(text, "t.toml");
    if (auto* e = std::get_if<config::load_error>(&c))
        return e->message;
    auto s = load_signer(std::get<config::config>(c));
    if (auto* e = std::get_if<key_error>(&s))
        return e->message;
    return {};
}

}  // namespace

TEST_CASE("configured RSA, Ed25519 and ARC keys load and sign") {
    temp_dir d;
    auto rsa = d.write("rsa.pem", test::rsa_key().pem());
    auto ed = d.write("ed.pem", test::ed_key().pem());
    auto text =
        config_text(rsa, "rsa-sha256") +
        "[[dkim]]\ndomain = \"example.com\"\nselector = \"s2\"\nprivate_key = \"" + ed +
        "\"\nalgorithm = \"ed25519-sha256\"\n"
        "[arc]\ndomain = \"example.com\"\nselector = \"arc\"\nalgorithm = \"ed25519-sha256\"\n"
        "private_key = \"" +
        ed + "\"\n[dkim_signing]\nexpiration = \"1h\"\n";
    auto c = config::load_string(text, "t.toml");
    REQUIRE(std::holds_alternative<config::config>(c));
    auto s = load_signer_settings(std::get<config::config>(c));
    REQUIRE(std::holds_alternative<signer_settings>(s));
    const auto& settings = std::get<signer_settings>(s);
    REQUIRE(settings.keys.size() == 2);
    CHECK(settings.keys[0].key.algo() == algorithm::rsa_sha256);
    CHECK(settings.keys[1].key.algo() == algorithm::ed25519_sha256);
    CHECK(settings.keys[0].key.public_key_base64() == test::rsa_key().public_key_base64());
    REQUIRE(settings.arc);
    CHECK(settings.arc->authserv_id == "mta.example.com");
    CHECK(settings.expiration == 3600);
    sign_context ctx;
    ctx.time = 1800000000;
    auto out = signer(settings).sign({}, "From: a@example.com\r\n\r\nhi\r\n", ctx);
    CHECK(out.signatures == 2);
    CHECK(out.sealed);
}

TEST_CASE("a key that does not match its algorithm is an error at the private_key position") {
    temp_dir d;
    auto ed = d.write("ed.pem", test::ed_key().pem());
    CHECK(
        load_error_of(config_text(ed, "rsa-sha256")) ==
        "t.toml:6:15: dkim.private_key: the key is an Ed25519 key but algorithm is \"rsa-sha256\""
    );
    auto rsa = d.write("rsa.pem", test::rsa_key().pem());
    CHECK(load_error_of(config_text(rsa, "ed25519-sha256")).starts_with("t.toml:6:15: "));
}

TEST_CASE("a world-readable key file is an error with its position") {
    temp_dir d;
    auto ed = d.write("ed.pem", test::ed_key().pem(), 0644);
    auto e = load_error_of(config_text(ed, "ed25519-sha256"));
    CHECK(e.starts_with("t.toml:6:15: "));
    CHECK(e.find("readable by everyone") != std::string::npos);
    // key_store checks it again itself, for keys whose mode changes after the config loaded.
    auto k = load_private_key_file(ed);
    REQUIRE(std::holds_alternative<std::string>(k));
    CHECK(std::get<std::string>(k).find("chmod 600") != std::string::npos);
}

TEST_CASE("a missing or unreadable key file is an error with its position") {
    temp_dir d;
    auto e = load_error_of(config_text((d.path / "missing.pem").string(), "ed25519-sha256"));
    CHECK(e.starts_with("t.toml:6:15: "));
    if (::geteuid() != 0) {  // root reads any file
        auto ed = d.write("ed.pem", test::ed_key().pem(), 0000);
        auto u = load_error_of(config_text(ed, "ed25519-sha256"));
        CHECK(u.starts_with("t.toml:6:15: "));
    }
}

TEST_CASE("a file that is not a PEM private key, or an RSA key too short, is an error") {
    temp_dir d;
    auto junk = d.write("junk.pem", "not a key\n");
    auto e = load_error_of(config_text(junk, "rsa-sha256"));
    CHECK(e.starts_with("t.toml:6:15: "));
    CHECK(e.find("not a PEM private key") != std::string::npos);
    auto small = test::unwrap(private_key::generate(algorithm::rsa_sha256, 512));
    auto p = d.write("small.pem", small.pem());
    auto s = load_error_of(config_text(p, "rsa-sha256"));
    CHECK(s.starts_with("t.toml:6:15: "));
    CHECK(s.find("512 bits") != std::string::npos);
}

TEST_CASE("a key with sign = false is loaded and checked but never signs") {
    temp_dir d;
    auto rsa = d.write("rsa.pem", test::rsa_key().pem());
    auto ed = d.write("ed.pem", test::ed_key().pem());
    auto retired = config_text(rsa, "rsa-sha256") + "sign = false\n";
    auto text = retired +
                "[[dkim]]\ndomain = \"example.com\"\nselector = \"s2\"\nprivate_key = \"" + ed +
                "\"\nalgorithm = \"ed25519-sha256\"\n";
    auto c = config::load_string(text, "t.toml");
    REQUIRE(std::holds_alternative<config::config>(c));
    CHECK_FALSE(std::get<config::config>(c).dkim_keys[0].sign);
    CHECK(std::get<config::config>(c).dkim_keys[1].sign);
    auto s = load_signer_settings(std::get<config::config>(c));
    REQUIRE(std::holds_alternative<signer_settings>(s));
    const auto& settings = std::get<signer_settings>(s);
    REQUIRE(settings.keys.size() == 1);
    CHECK(settings.keys[0].selector == "s2");
    sign_context ctx;
    ctx.time = 1800000000;
    auto out = signer(settings).sign({}, "From: a@example.com\r\n\r\nhi\r\n", ctx);
    CHECK(out.signatures == 1);
    CHECK(out.header_block.find("s=s2;") != std::string::npos);
    CHECK(out.header_block.find("s=s1;") == std::string::npos);

    // A retired key that does not load is still an error at its private_key position.
    auto wrong = config_text(ed, "rsa-sha256") + "sign = false\n";
    CHECK(load_error_of(wrong).starts_with("t.toml:6:15: dkim.private_key: the key is an Ed25519"));
}
