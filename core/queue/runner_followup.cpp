// What follows a delivery in the runner: DSNs, one report per message per event, sent once none
// of the message's recipients is in flight; results a full disk kept out of the spool, written
// when it has room (see runner.hpp).
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/queue/runner.hpp"
#include "core/spool/queue_id.hpp"
#include "core/util/log.hpp"
#include "core/util/offload.hpp"

namespace outpost::queue {

namespace asio = boost::asio;

namespace {

// A recipient without a result that is due for an attempt at t: never tried, or its retry time
// has come. Its batch is about to start, and its outcome belongs in the same report.
bool others_due(const spool::record& rec, std::int64_t t) {
    std::map<std::size_t, std::int64_t> next;
    for (const auto& r : rec.retries)
        next[r.index] = r.next_attempt;
    std::set<std::size_t> finals;
    for (const auto& r : rec.results)
        finals.insert(r.index);
    for (std::size_t i = 0; i < rec.env.recipients.size(); ++i)
        if (!finals.count(i) && (!next.count(i) || next[i] <= t))
            return true;
    return false;
}

// Every recipient has a result line.
bool all_final(const spool::record& rec) {
    std::set<std::size_t> finals;
    for (const auto& r : rec.results)
        finals.insert(r.index);
    return finals.size() == rec.env.recipients.size();
}

}  // namespace

bool runner::in_flight(const std::string& id) const {
    if (batches_of_.count(id))
        return true;
    auto it = claimed_.lower_bound({id, 0});
    return it != claimed_.end() && it->first == id;
}

void runner::make_due(
    const std::string& id, std::span<const dsn_recipient> bounces, std::int64_t t
) {
    auto& due = dsn_due_[id];
    due.insert(due.end(), bounces.begin(), bounces.end());
    dsn_first_due_.try_emplace(id, t);
}

asio::awaitable<void> runner::send_due_dsn(std::string id) {
    if (in_flight(id) || dsn_sending_.count(id))
        co_return;  // the last batch of the message, or the send at work, takes it
    dsn_sending_.insert(id);
    // Bounces recorded while this one is at work wait in a new entry: sent in the next round.
    while (dsn_due_.count(id) && !in_flight(id)) {
        auto report = std::move(dsn_due_[id]);
        dsn_due_.erase(id);
        auto path = where_.message(id);
        auto text = co_await util::offload(workers_, [&path] { return spool::read_file(path); });
        auto rec = text ? spool::parse(*text) : std::nullopt;
        if (!rec)
            break;  // deleted meanwhile: nobody to tell
        std::erase_if(report, [&](const dsn_recipient& d) { return rec->reported.count(d.index); });
        std::sort(report.begin(), report.end(), [](const auto& a, const auto& b) {
            return a.index < b.index;
        });
        report.erase(
            std::unique(
                report.begin(), report.end(),
                [](const auto& a, const auto& b) { return a.index == b.index; }
            ),
            report.end()
        );
        auto t = now();
        auto since = dsn_first_due_.count(id) ? dsn_first_due_[id] : t;
        if (others_due(*rec, t) && t - since < 60 && !held_.count(id)) {
            // Wait for the rest of this event: their batch sends the report, or the retry does.
            auto& due = dsn_due_[id];
            due.insert(due.begin(), report.begin(), report.end());
            dsn_retry_at_ = dsn_retry_at_ ? std::min(dsn_retry_at_, since + 60) : since + 60;
            break;
        }
        std::string_view message(text->data() + rec->message_offset, rec->size);
        if (auto dsn = compose_dsn(
                {cfg_->server.hostname}, *rec, message, report, dsn_action::failed, t
            )) {
            auto dsn_id = spool::next_queue_id();
            auto size = dsn->content.size();
            std::vector<std::string> pieces{
                spool::format_envelope(dsn_id, t, dsn->envelope, size), std::move(dsn->content)};
            auto [ec] = co_await writer_.async_write(
                dsn_id, std::move(pieces), asio::as_tuple(asio::use_awaitable)
            );
            if (ec) {
                // The bounces stay recorded; the report is tried again in a minute.
                log::error("dsn_spool_failed", {{"queue_id", id}, {"error", ec.message()}});
                auto& due = dsn_due_[id];
                due.insert(due.begin(), report.begin(), report.end());
                dsn_retry_at_ = dsn_retry_at_ ? std::min(dsn_retry_at_, t + 60) : t + 60;
                break;
            }
            log::info(
                "dsn_queued", {{"queue_id", dsn_id},
                               {"about", id},
                               {"recipients", report.size()},
                               {"to", dsn->envelope.recipients[0].address}}
            );
            submitted(dsn_id, dsn->envelope, t);
        }
        if (!dsn_due_.count(id))
            dsn_first_due_.erase(id);
        if (!all_final(*rec) && !report.empty()) {
            // Recipients still pending: say which bounces are reported, so a restart does not
            // send them again. A lost line means a second DSN after a restart, never none.
            std::vector<std::size_t> indexes;
            for (const auto& d : report)
                indexes.push_back(d.index);
            auto [ec] = co_await writer_.async_append(
                id, spool::format_reported(indexes), asio::as_tuple(asio::use_awaitable)
            );
            if (ec)
                log::warn("dsn_mark_failed", {{"queue_id", id}, {"error", ec.message()}});
        }
    }
    dsn_sending_.erase(id);
    co_await remove_if_done(id);
}

asio::awaitable<void> runner::remove_if_done(std::string id) {
    if (dsn_due_.count(id) || dsn_sending_.count(id) || unrecorded_.count(id) || in_flight(id))
        co_return;
    auto path = where_.message(id);
    bool done = co_await util::offload(workers_, [&path] {
        auto text = spool::read_file(path);
        auto rec = text ? spool::parse(*text) : std::nullopt;
        return rec && all_final(*rec);
    });
    if (done)
        writer_.retire(id);  // logs event=message_done
}

asio::awaitable<void> runner::retry_unrecorded() {
    unrecorded_retry_at_ = 0;
    std::vector<std::string> ids;
    for (const auto& [id, pending] : unrecorded_)
        ids.push_back(id);
    for (const auto& id : ids) {
        auto it = unrecorded_.find(id);
        if (it == unrecorded_.end())
            continue;
        auto text = it->second.text;
        auto [ec] = co_await writer_.async_append(id, text, asio::as_tuple(asio::use_awaitable));
        it = unrecorded_.find(id);
        if (it == unrecorded_.end())
            continue;
        if (ec == std::errc::no_such_file_or_directory) {
            unrecorded_.erase(it);  // deleted by the operator meanwhile
            std::erase_if(unrecorded_rcpts_, [&](const auto& r) { return r.first == id; });
            continue;
        }
        if (ec) {
            log::warn("results_not_recorded", {{"queue_id", id}, {"error", ec.message()}});
            unrecorded_retry_at_ = now() + 5;
            continue;
        }
        auto pending = std::move(it->second);
        unrecorded_.erase(it);
        std::erase_if(unrecorded_rcpts_, [&](const auto& r) { return r.first == id; });
        log::info("results_recorded", {{"queue_id", id}});
        if (!pending.bounced.empty()) {
            make_due(id, pending.bounced, now());
            co_await send_due_dsn(id);
        } else {
            co_await remove_if_done(id);
        }
    }
}

asio::awaitable<void> runner::retry_due_dsns() {
    dsn_retry_at_ = 0;
    std::vector<std::string> ids;
    for (const auto& [id, due] : dsn_due_)
        ids.push_back(id);
    for (const auto& id : ids)
        co_await send_due_dsn(id);
}

}  // namespace outpost::queue
