// The in-memory counters store.
#include "core/shaping/counters.hpp"

namespace outpost::shaping {

namespace {

std::string pair_key(std::string_view ip, std::string_view provider) {
    std::string k(ip);
    k += ' ';
    k += provider;
    return k;
}

}  // namespace

bool memory_counter_store::add(const counter_key& key, const daily_counts& delta) {
    counts_[pair_key(key.ip, key.provider)][key.date] += delta;
    return true;
}

bool memory_counter_store::take(const counter_key& key, std::uint64_t cap) {
    if (cap == 0 || get(key).sent >= cap)
        return false;
    auto& c = counts_[pair_key(key.ip, key.provider)][key.date];
    ++c.sent;
    return true;
}

bool memory_counter_store::give_back(const counter_key& key) {
    auto it = counts_.find(pair_key(key.ip, key.provider));
    if (it == counts_.end())
        return true;
    if (auto d = it->second.find(key.date); d != it->second.end() && d->second.sent > 0)
        --d->second.sent;
    return true;
}

daily_counts memory_counter_store::get(const counter_key& key) {
    auto it = counts_.find(pair_key(key.ip, key.provider));
    if (it == counts_.end())
        return {};
    auto d = it->second.find(key.date);
    return d == it->second.end() ? daily_counts{} : d->second;
}

std::map<day, daily_counts> memory_counter_store::history(
    std::string_view ip, std::string_view provider, day from, day to
) {
    std::map<day, daily_counts> out;
    auto it = counts_.find(pair_key(ip, provider));
    if (it == counts_.end())
        return out;
    for (auto d = it->second.lower_bound(from); d != it->second.end() && d->first <= to; ++d)
        out.insert(*d);
    return out;
}

}  // namespace outpost::shaping
