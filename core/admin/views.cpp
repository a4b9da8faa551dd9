#include "core/admin/views.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <boost/json/array.hpp>

#include "core/util/text.hpp"

namespace outpost::admin {

namespace json = boost::json;

namespace {

std::string_view body_name(smtp::body_type b) {
    switch (b) {
        case smtp::body_type::seven_bit:
            return "7BIT";
        case smtp::body_type::eight_bit_mime:
            return "8BITMIME";
        default:
            return "";
    }
}

std::string_view ret_name(smtp::dsn_ret r) {
    switch (r) {
        case smtp::dsn_ret::full:
            return "FULL";
        case smtp::dsn_ret::headers:
            return "HDRS";
        default:
            return "";
    }
}

json::array notify_names(std::uint8_t notify) {
    json::array out;
    if (notify & smtp::notify_never)
        out.emplace_back("NEVER");
    if (notify & smtp::notify_success)
        out.emplace_back("SUCCESS");
    if (notify & smtp::notify_failure)
        out.emplace_back("FAILURE");
    if (notify & smtp::notify_delay)
        out.emplace_back("DELAY");
    return out;
}

}  // namespace

std::string_view to_string(job_state s) {
    switch (s) {
        case job_state::ready:
            return "ready";
        case job_state::deferred:
            return "deferred";
        case job_state::active:
            return "active";
        case job_state::queued:
            return "queued";
        case job_state::held:
            return "held";
    }
    return "queued";
}

std::optional<job_state> parse_job_state(std::string_view s) {
    for (auto st :
         {job_state::ready, job_state::deferred, job_state::active, job_state::queued,
          job_state::held})
        if (to_string(st) == s)
            return st;
    return std::nullopt;
}

queue_entry entry_of(const queue::job& j, std::int64_t now) {
    queue_entry e;
    e.id = j.id;
    e.destination = j.destination;
    e.rcpts = j.rcpts;
    e.state = j.next_attempt > now ? job_state::deferred : job_state::ready;
    e.attempts = j.attempts;
    e.arrived = j.arrived;
    e.next_attempt = j.next_attempt;
    e.last_reply = j.last_reply;
    e.waiting = j.waiting;
    return e;
}

std::vector<queue_entry> entries_of(const spool::record& rec, job_state state) {
    std::vector<queue_entry> out;
    for (const auto& j : queue::jobs_for(rec)) {
        queue_entry e;
        e.id = j.id;
        e.destination = j.destination;
        e.state = state;
        e.arrived = j.arrived;
        e.rcpts = j.rcpts;
        e.attempts = j.attempts;  // from the spool's retry lines
        e.next_attempt = j.next_attempt;
        e.last_reply = j.last_reply;
        out.push_back(std::move(e));
    }
    return out;
}

bool matches(const queue_entry& e, const queue_filter& f) {
    if (f.domain && !util::iequals(e.destination, *f.domain))
        return false;
    return !f.state || e.state == *f.state;
}

json::object entry_json(const queue_entry& e) {
    json::object o;
    o["id"] = e.id;
    o["destination"] = e.destination;
    o["state"] = to_string(e.state);
    o["recipients"] = e.rcpts.size();
    o["attempts"] = e.attempts;
    o["arrived"] = e.arrived;
    if (e.next_attempt)
        o["next_attempt"] = e.next_attempt;
    else
        o["next_attempt"] = nullptr;
    o["last_reply"] = e.last_reply;
    o["waiting"] = e.waiting;
    return o;
}

json::object queue_json(
    std::vector<queue_entry> entries, std::int64_t now, std::string_view source
) {
    std::sort(entries.begin(), entries.end(), [](const queue_entry& a, const queue_entry& b) {
        return std::tie(a.arrived, a.id, a.destination) < std::tie(b.arrived, b.id, b.destination);
    });
    json::array jobs;
    for (const auto& e : entries)
        jobs.push_back(entry_json(e));
    json::object o;
    o["source"] = source;
    o["now"] = now;
    o["count"] = entries.size();
    o["jobs"] = std::move(jobs);
    return o;
}

json::object message_json(
    const spool::record& rec,
    const std::vector<queue_entry>& entries,
    job_state unmatched,
    std::string_view source
) {
    const auto& env = rec.env;
    json::object envelope;
    envelope["from"] = env.reverse_path;
    envelope["body"] = body_name(env.body);
    envelope["smtputf8"] = env.smtputf8;
    envelope["ret"] = ret_name(env.ret);
    envelope["envid"] = env.envid;
    envelope["client_address"] = env.client_address;
    envelope["helo"] = env.helo;
    envelope["auth_user"] = env.auth_user;
    envelope["protocol"] = env.protocol;
    envelope["tls"] = env.tls;

    // The last result recorded for a recipient wins (there is at most one in practice).
    std::map<std::size_t, const spool::recipient_result*> results;
    for (const auto& r : rec.results)
        results[r.index] = &r;
    std::map<std::uint32_t, const queue_entry*> holder;
    for (const auto& e : entries)
        for (auto i : e.rcpts)
            holder[i] = &e;

    json::array recipients;
    for (std::uint32_t i = 0; i < env.recipients.size(); ++i) {
        const auto& r = env.recipients[i];
        json::object o;
        o["index"] = i;
        o["address"] = r.address;
        o["destination"] = queue::destination_of(r.address);
        o["notify"] = notify_names(r.notify);
        o["orcpt"] = r.orcpt;
        if (auto it = results.find(i); it != results.end()) {
            const auto& res = *it->second;
            o["state"] =
                res.outcome == spool::recipient_result::kind::delivered ? "delivered" : "bounced";
            o["at"] = res.at;
            o["reply"] = res.reply;
        } else if (auto h = holder.find(i); h != holder.end()) {
            const auto& e = *h->second;
            o["state"] = to_string(e.state);
            o["attempts"] = e.attempts;
            if (e.next_attempt)
                o["next_attempt"] = e.next_attempt;
            else
                o["next_attempt"] = nullptr;
            o["reply"] = e.last_reply;
            o["waiting"] = e.waiting;
        } else {
            o["state"] = to_string(unmatched);
            o["reply"] = "";
        }
        recipients.push_back(std::move(o));
    }

    json::array jobs;
    for (const auto& e : entries)
        jobs.push_back(entry_json(e));

    json::object o;
    o["source"] = source;
    o["id"] = rec.id;
    o["arrived"] = rec.arrived;
    o["size"] = rec.size;
    o["envelope"] = std::move(envelope);
    o["recipients"] = std::move(recipients);
    o["jobs"] = std::move(jobs);
    return o;
}

}  // namespace outpost::admin
