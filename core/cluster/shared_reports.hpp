// DMARC aggregate reports across nodes: a report is mailed to one node (the report address's MX
// may be any), but every node's summaries and warming gates should count it. A node that stores
// a report writes it to PREFIXdmarc:report:HASH (HASH of reporter and report id; expiring after
// 30 days, longer than the gates look back) with SET NX and announces the key on PREFIXdmarc;
// every node reads announced keys and merges them into its own store (which ignores reports it
// has). After each (re)connection a node reads every key there (SCAN), so a node that was away
// or joins later catches up. Reports stored while Redis was away stay on their node.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/cluster/key_scan.hpp"
#include "core/cluster/redis_link.hpp"
#include "core/dmarc/report.hpp"

namespace outpost::cluster {

inline constexpr int shared_report_ttl_seconds = 30 * 86400;

std::string report_key(std::string_view prefix, const dmarc::report& r);

class shared_reports {
public:
    using merge_fn = std::function<void(const dmarc::report&)>;

    // commands and subscriber: links not yet started; both must outlive this.
    shared_reports(
        std::shared_ptr<redis_link> commands,
        redis_link& subscriber,
        std::string_view prefix,
        merge_fn merge
    );

    void publish(const dmarc::report& r);

    std::uint64_t merged() const { return merged_; }

private:
    void fetch(const std::string& key);

    std::shared_ptr<redis_link> commands_;
    redis_link& subscriber_;
    std::string prefix_;
    std::string channel_;
    merge_fn merge_;
    std::uint64_t merged_ = 0;
    key_scan catch_up_;  // every report key, after each (re)connection
};

}  // namespace outpost::cluster
