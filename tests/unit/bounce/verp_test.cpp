// VERP return paths: round trip, and forged or altered tokens name nobody.
#include "core/bounce/verp.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace outpost::bounce;

namespace {

const std::vector<std::string> secrets{"current-secret"};

}  // namespace

TEST_CASE("a return path names its queue id and recipient index") {
    auto path = make_return_path("Q4f9a2B", 3, "Bounces.Example.com", "current-secret");
    REQUIRE(path);
    CHECK(path->starts_with("b+Q4f9a2B.3."));
    CHECK(path->ends_with("@bounces.example.com"));
    CHECK(path->substr(0, path->find('@')).size() <= 64);
    auto token = parse_return_path(*path, "bounces.example.com", secrets);
    REQUIRE(token);
    CHECK(token->queue_id == "Q4f9a2B");
    CHECK(token->recipient_index == 3);
}

TEST_CASE("a return path survives case folding and angle brackets") {
    auto path = *make_return_path("Q4f9a2B", 0, "bounces.example.com", "current-secret");
    std::string upper;
    for (char c : path)
        upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    CHECK(parse_return_path("<" + upper + ">", "bounces.example.com", secrets));
}

TEST_CASE("a forged or altered token does not verify") {
    auto path = *make_return_path("Q4f9a2B", 3, "bounces.example.com", "current-secret");
    // Another recipient of the same message.
    auto other = path;
    other.replace(other.find(".3."), 3, ".4.");
    CHECK_FALSE(parse_return_path(other, "bounces.example.com", secrets));
    // One character of the mac changed.
    auto flipped = path;
    auto mac_at = flipped.find('@') - 1;
    flipped[mac_at] = flipped[mac_at] == 'a' ? 'b' : 'a';
    CHECK_FALSE(parse_return_path(flipped, "bounces.example.com", secrets));
    // Made under another secret.
    auto forged = *make_return_path("Q4f9a2B", 3, "bounces.example.com", "attacker-guess");
    CHECK_FALSE(parse_return_path(forged, "bounces.example.com", secrets));
    // Another domain, a leading zero, no prefix, garbage.
    CHECK_FALSE(parse_return_path(path, "other.example.com", secrets));
    auto padded = path;
    padded.replace(padded.find(".3."), 3, ".03.");
    CHECK_FALSE(parse_return_path(padded, "bounces.example.com", secrets));
    CHECK_FALSE(parse_return_path("someone@bounces.example.com", "bounces.example.com", secrets));
    CHECK_FALSE(parse_return_path("b+x@bounces.example.com", "bounces.example.com", secrets));
    CHECK_FALSE(parse_return_path("", "bounces.example.com", secrets));
}

TEST_CASE("an older secret keeps verifying during a rotation") {
    auto path = *make_return_path("abc", 1, "b.example", "old");
    CHECK_FALSE(parse_return_path(path, "b.example", secrets));
    const std::vector<std::string> rotated{"new", "old"};
    CHECK(parse_return_path(path, "b.example", rotated));
}

TEST_CASE("make_return_path refuses ids that would not round-trip") {
    CHECK_FALSE(make_return_path("", 0, "b.example", "s"));
    CHECK_FALSE(make_return_path("has.dot", 0, "b.example", "s"));
    CHECK_FALSE(make_return_path("has@at", 0, "b.example", "s"));
    CHECK_FALSE(make_return_path(std::string(verp_max_queue_id + 1, 'a'), 0, "b.example", "s"));
    CHECK_FALSE(make_return_path("abc", 0, "b.example", ""));
    CHECK(make_return_path(std::string(verp_max_queue_id, 'a'), 4294967295u, "b.example", "s"));
}
