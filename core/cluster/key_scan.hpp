// A node's catch-up read of shared keys after a (re)connection of either Redis link: every key
// under a pattern (SCAN), handed to the owner one by one. One scan at a time; when the
// subscriber reconnected while one ran, it may have missed announcements, so another follows.
// Used by the shared backoffs and the shared DMARC reports.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/cluster/redis_link.hpp"

namespace outpost::cluster {

class key_scan {
public:
    using key_fn = std::function<void(const std::string& key)>;

    // Starts a scan whenever both links are up after either came up. commands and subscriber
    // must outlive this.
    key_scan(
        std::shared_ptr<redis_link> commands,
        redis_link& subscriber,
        std::string pattern,
        key_fn on_key
    );

private:
    void start();
    void scan_from(std::string cursor);

    std::shared_ptr<redis_link> commands_;
    redis_link& subscriber_;
    std::string pattern_;
    key_fn on_key_;
    bool scanning_ = false;         // a SCAN is under way
    std::uint64_t scanned_on_ = 0;  // the subscriber connection it began on
    bool again_ = false;            // another is due when it ends
};

}  // namespace outpost::cluster
