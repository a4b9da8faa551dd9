// The JSON documents of the queue API, built from scheduler jobs and spool records.
#include "core/admin/views.hpp"

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

using namespace outpost;
using namespace outpost::admin;

namespace {

spool::record sample_record() {
    spool::record rec;
    rec.id = "0193A8F4C2B1A0042";
    rec.arrived = 1000;
    rec.size = 321;
    rec.env.reverse_path = "app@example.com";
    rec.env.client_address = "127.0.0.1";
    rec.env.helo = "client.test";
    rec.env.protocol = "ESMTP";
    rec.env.envid = "env\"id";
    rec.env.recipients = {
        {"ok@example.net", smtp::notify_failure, ""},
        {"later@Example.NET", 0, "rfc822;later@example.net"},
        {"gone@other.test", 0, ""},
        {"wait@other.test", 0, ""},
    };
    rec.results.push_back({0, spool::recipient_result::kind::delivered, 1010, "250 2.0.0 ok"});
    rec.results.push_back({2, spool::recipient_result::kind::bounced, 1011, "550 5.1.1 no"});
    return rec;
}

}  // namespace

TEST_CASE("job states parse and print") {
    CHECK(to_string(job_state::deferred) == "deferred");
    CHECK(parse_job_state("active") == job_state::active);
    CHECK_FALSE(parse_job_state("frozen"));
}

TEST_CASE("a scheduler job is ready when due and deferred when not") {
    queue::job j;
    j.id = "ID1";
    j.destination = "example.net";
    j.rcpts = {1, 2};
    j.attempts = 2;
    j.arrived = 50;
    j.next_attempt = 200;
    j.last_reply = "451 4.7.1 later";
    auto deferred = entry_of(j, 100);
    CHECK(deferred.state == job_state::deferred);
    CHECK(deferred.last_reply == "451 4.7.1 later");
    CHECK(deferred.attempts == 2);
    CHECK(entry_of(j, 200).state == job_state::ready);
}

TEST_CASE("a spool record's pending recipients group by destination, in lower case") {
    auto entries = entries_of(sample_record(), job_state::queued);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].destination == "example.net");
    CHECK(entries[0].rcpts == std::vector<std::uint32_t>{1});
    CHECK(entries[1].destination == "other.test");
    CHECK(entries[1].rcpts == std::vector<std::uint32_t>{3});
    CHECK(entries[1].arrived == 1000);
    CHECK(entries[1].state == job_state::queued);
    // The spool records attempts (retry lines): none yet here.
    CHECK(entry_json(entries[1]).at("attempts").to_number<int>() == 0);
    CHECK(entry_json(entries[1]).at("next_attempt").is_null());
}

TEST_CASE("a spool record's retry lines give attempts, next attempt and the last reply") {
    auto rec = sample_record();
    rec.retries.push_back({3, 2, 5000, "451 4.2.1 busy"});
    auto entries = entries_of(rec, job_state::held);
    REQUIRE(entries.size() == 2);
    CHECK(entries[1].state == job_state::held);
    auto o = entry_json(entries[1]);
    CHECK(o.at("attempts").to_number<int>() == 2);
    CHECK(o.at("next_attempt").as_int64() == 5000);
    CHECK(o.at("last_reply").as_string() == "451 4.2.1 busy");
    CHECK(o.at("state").as_string() == "held");
}

TEST_CASE("filters match destination without regard to case, and state") {
    queue_entry e;
    e.destination = "example.net";
    e.state = job_state::deferred;
    CHECK(matches(e, {}));
    CHECK(matches(e, {"EXAMPLE.net", std::nullopt}));
    CHECK_FALSE(matches(e, {"example.org", std::nullopt}));
    CHECK(matches(e, {std::nullopt, job_state::deferred}));
    CHECK_FALSE(matches(e, {std::nullopt, job_state::ready}));
}

TEST_CASE("the queue listing is sorted oldest first and says where it came from") {
    queue_entry a, b;
    a.id = "B";
    a.arrived = 20;
    a.destination = "x.test";
    a.rcpts = {0, 1};
    b.id = "A";
    b.arrived = 10;
    b.destination = "y.test";
    b.next_attempt = 99;
    b.last_reply = "451 \"busy\"";
    auto doc = queue_json({a, b}, 50, "daemon");
    CHECK(doc.at("source") == "daemon");
    CHECK(doc.at("count") == 2);
    const auto& jobs = doc.at("jobs").as_array();
    CHECK(jobs[0].at("id") == "A");
    CHECK(jobs[0].at("next_attempt") == 99);
    CHECK(jobs[0].at("last_reply") == "451 \"busy\"");
    CHECK(jobs[1].at("recipients") == 2);
    CHECK(jobs[1].at("next_attempt").is_null());
    // The serializer escapes quotes: the document is valid JSON with the reply intact.
    auto text = boost::json::serialize(doc);
    CHECK(text.find(R"("last_reply":"451 \"busy\"")") != std::string::npos);
}

TEST_CASE("one message shows each recipient's final result or its job's state") {
    auto rec = sample_record();
    queue_entry held;
    held.id = rec.id;
    held.destination = "example.net";
    held.rcpts = {1};
    held.state = job_state::deferred;
    held.attempts = 3;
    held.next_attempt = 2000;
    held.last_reply = "451 4.7.1 try later";
    auto doc = message_json(rec, {held}, job_state::active, "daemon");
    CHECK(doc.at("id").as_string() == rec.id);
    CHECK(doc.at("envelope").at("from") == "app@example.com");
    CHECK(doc.at("envelope").at("envid") == "env\"id");
    const auto& r = doc.at("recipients").as_array();
    REQUIRE(r.size() == 4);
    CHECK(r[0].at("state") == "delivered");
    CHECK(r[0].at("reply") == "250 2.0.0 ok");
    CHECK(r[0].at("at") == 1010);
    CHECK(r[0].at("notify").as_array().size() == 1);
    CHECK(r[1].at("state") == "deferred");
    CHECK(r[1].at("attempts") == 3);
    CHECK(r[1].at("next_attempt") == 2000);
    CHECK(r[1].at("reply") == "451 4.7.1 try later");
    CHECK(r[1].at("destination") == "example.net");
    CHECK(r[2].at("state") == "bounced");
    CHECK(r[3].at("state") == "active");  // no job holds it: in flight
    CHECK(doc.at("jobs").as_array().size() == 1);
}
