// The shared suppression list's pure half: rows, channel messages, and what a node does after
// (re)connecting.
#include "core/cluster/suppression_sync.hpp"

#include <algorithm>

#include <doctest/doctest.h>

#include "core/cluster/heartbeat.hpp"

using namespace outpost;
using namespace outpost::cluster;

namespace {

suppression::entry entry_of(std::string address, std::int64_t last_seen, std::uint32_t count = 1) {
    suppression::entry e;
    e.address = std::move(address);
    e.reason = "userunknown";
    e.status = "5.1.1";
    e.origin = suppression::source::smtp_reply;
    e.first_seen = last_seen - 10;
    e.last_seen = last_seen;
    e.count = count;
    e.message_id = "<m, \"1\"@x>";
    e.queue_id = "0123456789ABCDEF";
    return e;
}

std::vector<std::string> keys_of(const std::vector<suppression::entry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries)
        out.push_back(suppression::match_key(e.address));
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("an entry survives its shared row whole") {
    auto e = entry_of("Bob.Smith@Example.COM", 1795162500, 3);
    e.severity = suppression::kind::soft;
    auto back = decode_entry(encode_entry(e));
    REQUIRE(back);
    CHECK(back->address == suppression::normalize_address(e.address));
    CHECK(back->reason == e.reason);
    CHECK(back->status == e.status);
    CHECK(back->origin == e.origin);
    CHECK(back->first_seen == e.first_seen);
    CHECK(back->last_seen == e.last_seen);
    CHECK(back->count == 3);
    CHECK(back->message_id == e.message_id);
    CHECK(back->queue_id == e.queue_id);
    CHECK(back->severity == suppression::kind::soft);
    CHECK_FALSE(decode_entry("not,a,valid\"row"));
    CHECK_FALSE(decode_entry("nobody"));
}

TEST_CASE("commands: one script each, with the row under the match key and the change announced") {
    suppression_keys k("eu:");
    CHECK(k.entries == "eu:suppression");
    CHECK(k.removed == "eu:suppression:removed");
    auto put = put_commands(k, "node-1", entry_of("Gone@Example.net", 100));
    REQUIRE(put.size() == 1);
    REQUIRE(put[0].size() == 10);
    CHECK(put[0][0] == "EVAL");
    CHECK(put[0][2] == "2");
    CHECK(put[0][3] == "eu:suppression");
    CHECK(put[0][4] == "eu:suppression:removed");
    CHECK(put[0][5] == "gone@example.net");
    CHECK(decode_entry(put[0][6])->address == "Gone@example.net");
    CHECK(put[0][7] == "100");
    CHECK(put[0][8] == "eu:suppression");
    CHECK(put[0][9] == "node-1 +gone@example.net");
    auto del = remove_commands(k, "outpostctl", "GONE@example.net", 200);
    REQUIRE(del.size() == 1);
    CHECK(del[0][5] == "gone@example.net");
    CHECK(del[0][6] == "200");
    CHECK(del[0][8] == "outpostctl -gone@example.net");
}

TEST_CASE("channel messages: only well-formed changes of match keys are taken") {
    auto c = parse_change("node-1 +gone@example.net");
    REQUIRE(c);
    CHECK(c->node == "node-1");
    CHECK_FALSE(c->removed);
    CHECK(c->key == "gone@example.net");
    auto r = parse_change("b -x@y.z");
    REQUIRE(r);
    CHECK(r->removed);
    for (const char* bad :
         {"", "node", "node +", " +a@b", "node *a@b", "node +Upper@b", "node +nodomain"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_change(bad));
    }
}

TEST_CASE("after a reconnection: merge what is newer there, publish what is newer here") {
    auto shared_old = entry_of("both@x.org", 100);
    auto local_new = entry_of("both@x.org", 200);
    auto only_there = entry_of("there@x.org", 150);
    auto only_here = entry_of("here@x.org", 150);
    auto removed_there = entry_of("removed@x.org", 90);
    auto readded_here = entry_of("readded@x.org", 300);  // suppressed again after its removal
    std::vector<std::string> shared{"both@x.org",  encode_entry(shared_old),
                                    "there@x.org", encode_entry(only_there),
                                    "junk@x.org",  "not a row",
                                    "other@x.org", encode_entry(only_here)};
    std::vector<std::string> removed{"removed@x.org", "95", "readded@x.org", "250"};
    auto plan = plan_sync(shared, removed, {local_new, only_here, removed_there, readded_here});
    CHECK(keys_of(plan.merge_locally) == std::vector<std::string>{"there@x.org"});
    CHECK(plan.remove_locally == std::vector<std::string>{"removed@x.org"});
    CHECK(
        keys_of(plan.publish) ==
        std::vector<std::string>{"both@x.org", "here@x.org", "readded@x.org"}
    );
    CHECK(plan.unreadable == 2);  // a bad row, and a row under another address's key
}

TEST_CASE("after a reconnection: a shared row older than its tombstone is not taken") {
    auto stale = entry_of("stale@x.org", 100);
    auto plan = plan_sync({"stale@x.org", encode_entry(stale)}, {"stale@x.org", "150"}, {});
    CHECK(plan.merge_locally.empty());
    auto fresh = entry_of("fresh@x.org", 200);
    auto again = plan_sync({"fresh@x.org", encode_entry(fresh)}, {"fresh@x.org", "150"}, {});
    CHECK(again.merge_locally.size() == 1);
}

TEST_CASE("after a reconnection: a larger count or a hard kind counts as newer") {
    auto there = entry_of("a@x.org", 100, 5);
    auto here = entry_of("a@x.org", 100, 2);
    here.severity = suppression::kind::hard;
    there.severity = suppression::kind::soft;
    auto plan = plan_sync({"a@x.org", encode_entry(there)}, {}, {here});
    CHECK(plan.merge_locally.size() == 1);  // the count of 5
    CHECK(plan.publish.size() == 1);        // the hard kind
    auto same = plan_sync({"a@x.org", encode_entry(here)}, {}, {here});
    CHECK(same.merge_locally.empty());
    CHECK(same.publish.empty());
}

TEST_CASE("node announcements read back") {
    auto text =
        format_announcement({{"version", "1.2"}, {"degraded", "no"}, {"latency_us", "120"}});
    CHECK(text == "degraded=no latency_us=120 version=1.2");
    auto fields = parse_announcement(text + " junk =x");
    CHECK(fields.size() == 3);
    CHECK(fields["latency_us"] == "120");
    CHECK(node_key("t:", "a") == "t:node:a");
}
