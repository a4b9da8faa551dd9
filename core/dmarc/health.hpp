// DMARC pass rates for the warming health gates: the warming counters as they are, with each
// day's DMARC counts for the source IP (from the aggregate reports whose period ended that day,
// UTC) added to what history() returns, so that a schedule with min_dmarc_pass_rate holds an IP
// whose mail fails DMARC as it holds one that bounces too much. Everything else goes to the
// store it wraps. The reports file is opened when it first exists; counts are read again after a
// minute (reports come once a day).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "core/dmarc/store.hpp"
#include "core/shaping/counters.hpp"

namespace outpost::dmarc {

class health_counts final : public shaping::counter_store {
public:
    health_counts(shaping::counter_store& inner, std::string reports_path);

    bool add(const shaping::counter_key& key, const shaping::daily_counts& delta) override {
        return inner_.add(key, delta);
    }

    bool take(const shaping::counter_key& key, std::uint64_t cap) override {
        return inner_.take(key, cap);
    }

    bool give_back(const shaping::counter_key& key) override { return inner_.give_back(key); }

    shaping::daily_counts get(const shaping::counter_key& key) override { return inner_.get(key); }

    std::map<shaping::day, shaping::daily_counts> history(
        std::string_view ip, std::string_view provider, shaping::day from, shaping::day to
    ) override;

    std::string last_error() const override { return inner_.last_error(); }

private:
    struct cached {
        std::chrono::steady_clock::time_point read{};
        std::map<shaping::day, shaping::daily_counts> days;
    };

    const std::map<shaping::day, shaping::daily_counts>& reported(std::string_view ip);

    shaping::counter_store& inner_;
    std::string path_;
    std::unique_ptr<store> reports_;
    std::map<std::string, cached, std::less<>> cache_;
};

}  // namespace outpost::dmarc
