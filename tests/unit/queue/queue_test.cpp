#include <doctest/doctest.h>

#include "core/queue/dsn.hpp"
#include "core/queue/retry.hpp"
#include "core/queue/scheduler.hpp"

using namespace outpost;
using namespace std::chrono_literals;

namespace {

queue::job make_job(std::string id, std::string dest, std::int64_t next = 0) {
    queue::job j;
    j.id = std::move(id);
    j.destination = std::move(dest);
    j.rcpts = {0};
    j.next_attempt = next;
    return j;
}

}  // namespace

TEST_CASE("retry delays follow the schedule, repeat the last step, and jitter by at most 10%") {
    std::vector<std::chrono::milliseconds> schedule{5min, 15min, 1h};
    CHECK(queue::retry_delay(schedule, 1, 0.5) == 300s);
    CHECK(queue::retry_delay(schedule, 2, 0.5) == 900s);
    CHECK(queue::retry_delay(schedule, 3, 0.5) == 3600s);
    CHECK(queue::retry_delay(schedule, 9, 0.5) == 3600s);
    CHECK(queue::retry_delay(schedule, 1, 0.0) == 270s);
    CHECK(queue::retry_delay(schedule, 1, 0.999) >= 329s);
    CHECK(queue::expired(1000, 1000 + 5 * 86400, std::chrono::hours(24 * 5)));
    CHECK_FALSE(queue::expired(1000, 1000 + 5 * 86400 - 1, std::chrono::hours(24 * 5)));
}

TEST_CASE("the scheduler serves ready jobs per destination, round-robin, within concurrency") {
    queue::scheduler s;
    s.add(make_job("A1", "a.test"), 100);
    s.add(make_job("A2", "a.test"), 100);
    s.add(make_job("B1", "b.test"), 100);
    s.add(make_job("C1", "c.test", 500), 100);  // deferred
    auto first = s.take(10, 1, 100);
    REQUIRE(first.size() == 2);
    CHECK(first[0].destination == "a.test");
    CHECK(first[1].id == "A2");
    // a.test is at its one connection; b.test is next.
    auto second = s.take(10, 1, 100);
    REQUIRE(second.size() == 1);
    CHECK(second[0].id == "B1");
    CHECK(s.take(10, 1, 100).empty());
    CHECK(s.next_wakeup() == 500);
    s.wake(499);
    CHECK(s.take(10, 1, 100).empty());
    s.wake(500);
    auto third = s.take(10, 1, 100);
    REQUIRE(third.size() == 1);
    CHECK(third[0].id == "C1");
    CHECK(s.stats().active == 3);
    s.finished("a.test");
    s.finished("b.test");
    s.finished("c.test");
    CHECK(s.stats().active == 0);
    CHECK(s.stats().destinations == 0);
}

TEST_CASE("the global limit holds, and flush and remove act on deferred work") {
    queue::scheduler s;
    s.add(make_job("A1", "a.test"), 0);
    s.add(make_job("B1", "b.test"), 0);
    CHECK(s.take(10, 5, 1).size() == 1);
    CHECK(s.take(10, 5, 1).empty());

    s.add(make_job("D1", "d.test", 1000), 0);
    s.add(make_job("D2", "d.test", 2000), 0);
    s.add(make_job("E1", "e.test", 1000), 0);
    CHECK(s.flush(10, std::string("d.test")) == 2);
    CHECK(s.next_wakeup() == 1000);  // E1 still deferred
    CHECK(s.remove("E1") == 1);
    CHECK_FALSE(s.next_wakeup());
    CHECK(s.stats().ready == 3);  // B1, D1, D2
    CHECK(s.remove("D1") == 1);
    CHECK(s.stats().ready == 2);
}

TEST_CASE("DSNs honour NOTIFY, RET and ENVID and never go to the null sender") {
    spool::record rec;
    rec.id = "0123456789ABCDEF";
    rec.arrived = 1764000000;
    rec.env.reverse_path = "app@example.com";
    rec.env.envid = "batch-7";
    rec.env.ret = smtp::dsn_ret::headers;
    rec.env.recipients = {
        {"gone@example.net", 0, "rfc822;Gone@example.net"},
        {"quiet@example.net", smtp::notify_never, ""},
        {"slow@example.net", smtp::notify_delay, ""}};
    std::string message = "Subject: hi\r\nFrom: app@example.com\r\n\r\nsecret body\r\n";
    std::vector<queue::dsn_recipient> failed{
        {0, "5.1.1", "550 5.1.1 No such user", "mx.example.net", 1764000100},
        {1, "5.1.1", "550 5.1.1 No such user", "mx.example.net", 1764000100}};
    auto dsn = queue::compose_dsn(
        {"relay.test"}, rec, message, failed, queue::dsn_action::failed, 1764000200
    );
    REQUIRE(dsn);
    CHECK(dsn->envelope.reverse_path.empty());
    REQUIRE(dsn->envelope.recipients.size() == 1);
    CHECK(dsn->envelope.recipients[0].address == "app@example.com");
    auto& c = dsn->content;
    CHECK(
        c.find("Content-Type: multipart/report; report-type=delivery-status;") != std::string::npos
    );
    CHECK(c.find("Final-Recipient: rfc822; gone@example.net\r\n") != std::string::npos);
    CHECK(c.find("Original-Recipient: rfc822;Gone@example.net\r\n") != std::string::npos);
    CHECK(
        c.find("Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.example.net\r\n") !=
        std::string::npos
    );
    CHECK(c.find("Original-Envelope-Id: batch-7\r\n") != std::string::npos);
    CHECK(c.find("quiet@example.net") == std::string::npos);    // NOTIFY=NEVER
    CHECK(c.find("text/rfc822-headers") != std::string::npos);  // RET=HDRS
    CHECK(c.find("secret body") == std::string::npos);
    CHECK(c.find("Subject: hi") != std::string::npos);

    // Delays are reported only to recipients that asked for them.
    std::vector<queue::dsn_recipient> delayed{
        {0, "4.4.1", "421 try later", "", 0}, {2, "4.4.1", "421 try later", "", 0}};
    auto d = queue::compose_dsn(
        {"relay.test"}, rec, message, delayed, queue::dsn_action::delayed, 1764000200
    );
    REQUIRE(d);
    CHECK(d->content.find("slow@example.net") != std::string::npos);
    CHECK(d->content.find("gone@example.net") == std::string::npos);

    rec.env.reverse_path.clear();
    CHECK_FALSE(queue::compose_dsn(
        {"relay.test"}, rec, message, failed, queue::dsn_action::failed, 1764000200
    ));
}

TEST_CASE("high priority jobs go first at a destination, low ones last, arrival order otherwise") {
    queue::scheduler s;
    auto with = [](std::string id, std::uint8_t priority, std::int64_t next = 0) {
        auto j = make_job(std::move(id), "a.test", next);
        j.priority = priority;
        return j;
    };
    s.add(with("N1", 1), 100);
    s.add(with("L1", 2), 100);
    s.add(with("N2", 1), 100);
    s.add(with("H1", 0), 100);
    s.add(with("H2", 0, 150), 100);  // deferred, then ready: still ahead of normal and low
    s.wake(150);
    std::vector<std::string> order;
    for (const auto& j : s.take(10, 1, 10))
        order.push_back(j.id);
    CHECK(order == std::vector<std::string>{"H1", "H2", "N1", "N2", "L1"});
    CHECK(queue::priority_rank("high") == 0);
    CHECK(queue::priority_rank("low") == 2);
    CHECK(queue::priority_rank("normal") == 1);
}

TEST_CASE("jobs_for takes the retry schedule from the spool: attempts and next attempt survive") {
    spool::record rec;
    rec.id = "0123456789ABCDEF";
    rec.arrived = 100;
    for (const char* a : {"a@x.test", "b@x.test", "c@y.test", "d@z.test", "e@z.test"})
        rec.env.recipients.push_back({a, 0, ""});
    rec.results.push_back({4, spool::recipient_result::kind::delivered, 150, "250 ok"});
    rec.retries.push_back({0, 1, 400, "451 first"});
    rec.retries.push_back({1, 1, 400, "451 first"});
    rec.retries.push_back({0, 3, 5000, "451 third"});  // later lines win
    rec.retries.push_back({1, 2, 3000, "451 second"});
    rec.retries.push_back({3, 2, 900, "421 slow"});
    auto jobs = queue::jobs_for(rec);
    REQUIRE(jobs.size() == 3);
    // x.test: due when its first recipient is, with the most attempts either had.
    CHECK(jobs[0].destination == "x.test");
    CHECK(jobs[0].attempts == 3);
    CHECK(jobs[0].next_attempt == 3000);
    CHECK(jobs[0].last_reply == "451 third");
    // y.test was never tried: due now, attempt count 0.
    CHECK(jobs[1].destination == "y.test");
    CHECK(jobs[1].attempts == 0);
    CHECK(jobs[1].next_attempt == 0);
    // z.test: e@ is delivered, d@ keeps its schedule.
    CHECK(jobs[2].destination == "z.test");
    CHECK(jobs[2].rcpts == std::vector<std::uint32_t>{3});
    CHECK(jobs[2].attempts == 2);
    CHECK(jobs[2].next_attempt == 900);
    // A scheduler given these after a restart at t=500 holds x.test and z.test back.
    queue::scheduler s;
    for (auto& j : jobs)
        s.add(std::move(j), 500);
    CHECK(s.stats().ready == 1);
    CHECK(s.stats().deferred == 2);
}

TEST_CASE("unreported_bounces: bounced recipients without a dsn line, suppressed ones never") {
    smtp::envelope env;
    env.reverse_path = "app@example.com";
    for (const char* a : {"a@x.test", "b@y.test", "c@z.test", "d@z.test", "e@z.test"})
        env.recipients.push_back({a, 0, ""});
    std::string message = "Subject: x\r\n\r\nbody\r\n";
    auto file = spool::format_envelope("0123456789ABCDEF", 100, env, message.size()) + message;
    using kind = spool::recipient_result::kind;
    file += spool::format_result({0, kind::bounced, 150, "550 5.1.1 no such user"});
    file += spool::format_result({1, kind::bounced, 151, "550 5.1.1 no such user"});
    file += spool::format_reported({1});
    file += spool::format_result({2, kind::bounced, 152, "not sent: on the suppression list"});
    file += spool::format_result({3, kind::bounced, 153, "message expired after 5d: 451 later"});
    file += spool::format_result({4, kind::delivered, 154, "250 ok"});
    auto rec = spool::parse(file);
    REQUIRE(rec);
    CHECK(rec->reported == std::set<std::size_t>{1});
    auto due = queue::unreported_bounces(*rec);
    REQUIRE(due.size() == 2);
    CHECK(due[0].index == 0);
    CHECK(due[0].status == "5.1.1");
    CHECK(due[0].diagnostic == "550 5.1.1 no such user");
    CHECK(due[0].last_attempt == 150);
    CHECK(due[1].index == 3);
    CHECK(due[1].status == "4.4.7");
    // One DSN for both, each recipient in its own block.
    auto dsn =
        queue::compose_dsn({"relay.test"}, *rec, message, due, queue::dsn_action::failed, 200);
    REQUIRE(dsn);
    CHECK(dsn->content.find("Final-Recipient: rfc822; a@x.test") != std::string::npos);
    CHECK(dsn->content.find("Final-Recipient: rfc822; d@z.test") != std::string::npos);
    CHECK(dsn->content.find("b@y.test") == std::string::npos);
}

TEST_CASE("a DSN writes no control byte of ENVID, ORCPT or a reply into its fields") {
    spool::record rec;
    rec.id = "0123456789ABCDEF";
    rec.arrived = 1764000000;
    rec.env.reverse_path = "app@example.com";
    // As a spool from before intake refused them could hold them.
    rec.env.envid = "e\r.\rMAIL FROM:<evil@x.test>\r\n";
    rec.env.recipients = {{"gone@example.net", 0, "rfc822;a\r\nX-Injected: 1@y"}};
    std::vector<queue::dsn_recipient> failed{
        {0, "5.1.1", "550 5.1.1 no\r\n.\r\nsuch user\x00", "mx.example.net\r\n", 1764000100}};
    auto dsn = queue::compose_dsn(
        {"relay.test"}, rec, "Subject: hi\r\n\r\nbody\r\n", failed, queue::dsn_action::failed,
        1764000200
    );
    REQUIRE(dsn);
    const auto& c = dsn->content;
    CHECK(c.find("Original-Envelope-Id: e.MAIL FROM:<evil@x.test>\r\n") != std::string::npos);
    CHECK(c.find("Original-Recipient: rfc822;aX-Injected: 1@y\r\n") != std::string::npos);
    CHECK(c.find("\r\nX-Injected") == std::string::npos);
    CHECK(c.find("\r.\r") == std::string::npos);
    CHECK(c.find("Diagnostic-Code: smtp; 550 5.1.1 no.such user\r\n") != std::string::npos);
    CHECK(c.find(std::string(1, '\0')) == std::string::npos);
}
