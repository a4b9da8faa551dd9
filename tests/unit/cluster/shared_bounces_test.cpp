// A node's sent records as stored in Redis for the others, and the keys they live under.
#include "core/cluster/shared_bounces.hpp"

#include <doctest/doctest.h>

using namespace outpost;
using namespace outpost::cluster;

TEST_CASE("a sent record reads back whole, under a key that names its node") {
    CHECK(sent_key("t:", "a", "1A2B3C4D5E6F7081") == "t:sent:a:1A2B3C4D5E6F7081");
    CHECK(verp_secrets_key("t:") == "t:verp:secrets");
    suppression::sent_entry e{"1A2B3C4D5E6F7081", 3,        "Rcpt\"x\"@example.org", 1764000000,
                              "192.0.2.7",        "google", "<id\t1@app.example>"};
    auto back = parse_sent(format_sent(e), e.queue_id, e.index);
    REQUIRE(back);
    CHECK(back->queue_id == e.queue_id);
    CHECK(back->index == 3);
    CHECK(back->address == e.address);
    CHECK(back->at == e.at);
    CHECK(back->source == "192.0.2.7");
    CHECK(back->provider == "google");
    CHECK(back->message_id == e.message_id);
}

TEST_CASE("a sent record without an address or time, or not JSON, is nothing") {
    CHECK_FALSE(parse_sent("", "Q", 0));
    CHECK_FALSE(parse_sent("not json", "Q", 0));
    CHECK_FALSE(parse_sent(R"({"at":1})", "Q", 0));
    CHECK_FALSE(parse_sent(R"({"address":"","at":1})", "Q", 0));
    CHECK_FALSE(parse_sent(R"({"address":"a@b","at":"1"})", "Q", 0));
    auto minimal = parse_sent(R"({"address":"a@b","at":5})", "Q", 1);
    REQUIRE(minimal);
    CHECK(minimal->source.empty());
}
