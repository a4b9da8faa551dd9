// Textual edits of [[array]] tables: comments and layout survive, values land where toml++ says.
#include "config/edit.hpp"

#include <doctest/doctest.h>

using namespace outpost::config;

namespace {

std::string edited(std::string_view text, const std::vector<table_edit>& edits) {
    auto r = edit_table_array(text, "t.toml", "dkim", edits);
    if (auto* e = std::get_if<load_error>(&r))
        FAIL(e->message);
    return std::get<std::string>(r);
}

std::string error_of(std::string_view text, const std::vector<table_edit>& edits) {
    auto r = edit_table_array(text, "t.toml", "dkim", edits);
    auto* e = std::get_if<load_error>(&r);
    return e ? e->message : "no error";
}

const std::string config_text = R"(# Outpost
[server]
hostname = "mta.example.com"   # the EHLO name

# Keys.
[[dkim]]
domain = "example.com"
  selector = "s1"     # indented
private_key = "/k/s1.pem"

[[dkim]]
domain = "example.com"
selector = "e1"
sign = true  # explicit
algorithm = "ed25519-sha256"
private_key = "/k/e1.pem"

# ARC.
[arc]
enabled = false
)";

}  // namespace

TEST_CASE("a missing key goes after the table's last key, with the new table after it") {
    table_edit e;
    e.index = 0;
    e.set = {{"sign", "false"}};
    e.comment = "# retired";
    e.after = "\n[[dkim]]  # new\ndomain = \"example.com\"\nselector = \"s2\"\n";
    auto out = edited(config_text, {e});
    CHECK(out == R"(# Outpost
[server]
hostname = "mta.example.com"   # the EHLO name

# Keys.
[[dkim]]
domain = "example.com"
  selector = "s1"     # indented
private_key = "/k/s1.pem"
sign = false  # retired

[[dkim]]  # new
domain = "example.com"
selector = "s2"

[[dkim]]
domain = "example.com"
selector = "e1"
sign = true  # explicit
algorithm = "ed25519-sha256"
private_key = "/k/e1.pem"

# ARC.
[arc]
enabled = false
)");
}

TEST_CASE("a present key is replaced in place; several tables are edited at once") {
    table_edit first;
    first.index = 0;
    first.set = {{"selector", "\"s9\""}};
    table_edit second;
    second.index = 1;
    second.set = {{"sign", "false"}};
    second.after = "\n[[dkim]]\nselector = \"e2\"";
    auto out = edited(config_text, {second, first});
    CHECK(out.find("  selector = \"s9\"\nprivate_key = \"/k/s1.pem\"\n") != std::string::npos);
    CHECK(out.find("selector = \"e1\"\nsign = false\nalgorithm") != std::string::npos);
    CHECK(
        out.find("private_key = \"/k/e1.pem\"\n\n[[dkim]]\nselector = \"e2\"\n\n# ARC.") !=
        std::string::npos
    );
    CHECK(out.find("sign = true") == std::string::npos);
}

TEST_CASE("multi-line values, CRLF files and a missing final line end") {
    auto crlf = std::string("[[dkim]]\r\ndomain = \"a.test\"\r\nheaders = [\r\n  \"from\",\r\n]");
    table_edit e;
    e.set = {{"sign", "false"}};
    CHECK(edited(crlf, {e}) == crlf + "\r\nsign = false\r\n");
}

TEST_CASE("edits that cannot be made are errors with a position") {
    table_edit e;
    e.index = 2;
    CHECK(error_of(config_text, {e}) == "t.toml: there is no [[dkim]] table number 3");
    CHECK(error_of("dkim = [{domain = \"a\"}]\n", {table_edit{}}).starts_with("t.toml:1:"));
    CHECK(error_of("[[dkim]\n", {table_edit{}}).starts_with("t.toml:1:"));
}
