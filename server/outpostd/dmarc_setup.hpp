// [dmarc]: DMARC aggregate reports mailed to report_address are read (on a worker thread: they
// may be megabytes of zip), stored in spool_dir/dmarc.sqlite (a report already stored is a
// duplicate, by reporter and report id), and what cannot be read is kept aside whole in
// spool_dir/dmarc-unreadable/ with a log line: intake never fails because of a report.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config/schema.hpp"
#include "core/dmarc/sources.hpp"
#include "core/dmarc/store.hpp"

namespace outpost::daemon {

class report_intake {
public:
    // Opens the store; throws std::runtime_error when it cannot.
    report_intake(const config::config& cfg, boost::asio::thread_pool& workers);

    boost::asio::awaitable<std::optional<std::string>> receive(
        const std::string& id, std::string_view message
    );

    struct counts {
        std::uint64_t stored = 0;
        std::uint64_t duplicates = 0;
        std::uint64_t unreadable = 0;
    };

    const counts& seen() const { return seen_; }

    // Called for each report stored here from a mail (a cluster shares it).
    void on_stored(std::function<void(const dmarc::report&)> f) { stored_ = std::move(f); }

    // A report another node received: stored here too unless already present.
    void merge(const dmarc::report& r);

    // Per From domain, over the reports whose period ended in the last 7 days (the metrics).
    std::map<std::string, dmarc::domain_totals> totals() const;

private:
    void keep_aside(const std::string& id, std::string_view message, const std::string& why);

    const config::config& cfg_;  // the daemon's, for which sources are ours
    std::unique_ptr<dmarc::store> store_;
    std::filesystem::path aside_;
    boost::asio::thread_pool& workers_;
    counts seen_;
    std::function<void(const dmarc::report&)> stored_;
};

}  // namespace outpost::daemon
