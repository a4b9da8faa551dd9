#include "core/queue/scheduler.hpp"

#include <algorithm>
#include <set>

#include "core/util/text.hpp"

namespace outpost::queue {

std::string destination_of(std::string_view address) {
    auto at = address.rfind('@');
    return util::to_lower(
        at == std::string_view::npos ? std::string_view{} : address.substr(at + 1)
    );
}

std::uint8_t priority_rank(std::string_view priority) {
    return priority == "high" ? 0 : priority == "low" ? 2 : 1;
}

std::vector<job> jobs_for(const spool::record& rec) {
    std::set<std::size_t> done;
    for (const auto& r : rec.results)
        done.insert(r.index);
    std::map<std::size_t, const spool::retry_state*> retry;  // the last line per recipient
    for (const auto& r : rec.retries)
        retry[r.index] = &r;
    std::map<std::string, job> by_destination;
    std::set<std::string> untried;  // destinations with a recipient never deferred: due now
    for (std::uint32_t i = 0; i < rec.env.recipients.size(); ++i) {
        if (done.count(i))
            continue;
        auto destination = destination_of(rec.env.recipients[i].address);
        auto& j = by_destination[destination];
        j.id = rec.id;
        j.destination = destination;
        j.arrived = rec.arrived;
        j.priority = priority_rank(rec.env.priority);
        j.rcpts.push_back(i);
        auto r = retry.find(i);
        if (r == retry.end()) {
            untried.insert(destination);
            continue;
        }
        // Recipients of one destination go in one transaction: it is due when the first of
        // them is, and counts the most attempts any of them has had.
        const auto& state = *r->second;
        if (state.attempts > j.attempts) {
            j.attempts = state.attempts;
            j.last_reply = state.reply;
        }
        if (j.next_attempt == 0 || state.next_attempt < j.next_attempt)
            j.next_attempt = state.next_attempt;
    }
    std::vector<job> out;
    for (auto& [d, j] : by_destination) {
        if (untried.count(d))
            j.next_attempt = 0;
        out.push_back(std::move(j));
    }
    return out;
}

void scheduler::add(job j, std::int64_t now) {
    j.serial = next_serial_++;
    if (j.next_attempt <= now) {
        make_ready(std::move(j));
        return;
    }
    heap_.push({j.next_attempt, j.serial});
    destinations_[j.destination];  // known, so listings show it
    deferred_.emplace(j.serial, std::move(j));
}

void scheduler::make_ready(job j) {
    auto& ready = destinations_[j.destination].ready;
    // Nearly always all normal: the end is the place.
    if (ready.empty() || ready.back().priority <= j.priority) {
        ready.push_back(std::move(j));
        return;
    }
    auto at = std::upper_bound(
        ready.begin(), ready.end(), j.priority,
        [](std::uint8_t p, const job& other) { return p < other.priority; }
    );
    ready.insert(at, std::move(j));
}

void scheduler::wake(std::int64_t now) {
    while (!heap_.empty() && heap_.top().at <= now) {
        auto serial = heap_.top().serial;
        heap_.pop();
        auto it = deferred_.find(serial);
        if (it == deferred_.end())
            continue;  // flushed or removed earlier: a stale heap entry
        make_ready(std::move(it->second));
        deferred_.erase(it);
    }
}

std::vector<job> scheduler::take(
    std::size_t max_jobs, std::size_t max_active_per_destination, std::size_t max_active_total
) {
    std::vector<job> out;
    if (destinations_.empty() || active_ >= max_active_total)
        return out;
    // Round-robin from the destination after the last one served, so one busy domain cannot
    // starve the others.
    auto start = destinations_.upper_bound(cursor_);
    for (std::size_t n = 0; n < destinations_.size(); ++n, ++start) {
        if (start == destinations_.end())
            start = destinations_.begin();
        auto& [name, d] = *start;
        if (d.ready.empty() || d.active >= max_active_per_destination)
            continue;
        while (!d.ready.empty() && out.size() < max_jobs) {
            out.push_back(std::move(d.ready.front()));
            d.ready.pop_front();
        }
        ++d.active;
        ++active_;
        cursor_ = name;
        return out;
    }
    return out;
}

void scheduler::finished(const std::string& destination) {
    auto it = destinations_.find(destination);
    if (it != destinations_.end() && it->second.active > 0) {
        --it->second.active;
        --active_;
        if (it->second.active == 0 && it->second.ready.empty()) {
            bool deferred_here = false;
            for (const auto& [serial, j] : deferred_)
                if (j.destination == destination) {
                    deferred_here = true;
                    break;
                }
            if (!deferred_here)
                destinations_.erase(it);
        }
    }
}

std::size_t scheduler::flush(
    std::int64_t now,
    const std::optional<std::string>& destination,
    const std::optional<std::string>& id
) {
    return flush_if(now, [&](const job& j) {
        return (!destination || j.destination == *destination) && (!id || j.id == *id);
    });
}

std::size_t scheduler::flush_waiting(std::int64_t now) {
    return flush_if(now, [](const job& j) { return !j.waiting.empty(); });
}

std::size_t scheduler::flush_if(std::int64_t now, const std::function<bool(const job&)>& match) {
    std::size_t moved = 0;
    for (auto it = deferred_.begin(); it != deferred_.end();) {
        if (!match(it->second)) {
            ++it;
            continue;
        }
        it->second.next_attempt = now;
        make_ready(std::move(it->second));
        it = deferred_.erase(it);
        ++moved;
    }
    return moved;
}

std::size_t scheduler::remove(const std::string& id) {
    std::size_t removed = 0;
    for (auto it = deferred_.begin(); it != deferred_.end();) {
        if (it->second.id == id) {
            it = deferred_.erase(it);
            ++removed;
        } else {
            ++it;
        }
    }
    for (auto& [name, d] : destinations_) {
        auto before = d.ready.size();
        std::erase_if(d.ready, [&](const job& j) { return j.id == id; });
        removed += before - d.ready.size();
    }
    return removed;
}

std::optional<std::int64_t> scheduler::next_wakeup() const {
    while (!heap_.empty()) {
        if (deferred_.count(heap_.top().serial))
            return heap_.top().at;
        heap_.pop();  // stale: dropping it changes nothing observable
    }
    return std::nullopt;
}

scheduler_stats scheduler::stats() const {
    scheduler_stats s;
    s.deferred = deferred_.size();
    s.active = active_;
    s.destinations = destinations_.size();
    for (const auto& [name, d] : destinations_)
        s.ready += d.ready.size();
    return s;
}

std::vector<const job*> scheduler::queued() const {
    std::vector<const job*> out;
    for (const auto& [name, d] : destinations_)
        for (const auto& j : d.ready)
            out.push_back(&j);
    for (const auto& [serial, j] : deferred_)
        out.push_back(&j);
    return out;
}

}  // namespace outpost::queue
