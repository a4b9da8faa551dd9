// TLS-RPT (RFC 8460) reports sent: once an hour, each finished UTC day's report (of the last
// week) that is not yet marked goes by mail to the policy domain's _smtp._tls rua, signed with
// the keys intake signs with and delivered straight to the rua's MX (§3: despite TLS failures,
// and not counted), then marked so that it is never sent twice.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/schema.hpp"
#include "core/dns/resolver.hpp"
#include "core/listener/intake.hpp"
#include "core/tlspolicy/cache.hpp"

namespace outpost::daemon {

class tls_reporter {
public:
    // current: the config in force (a reload changes organization and contact); all references
    // must outlive the reporter. now: unix seconds.
    tls_reporter(
        boost::asio::io_context& io,
        const std::shared_ptr<const config::config>& current,
        tlspolicy::policy_cache& cache,
        dns::resolver& resolver,
        listener::intake& intake,
        std::function<std::int64_t()> now
    );

    void start();
    void stop();

private:
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<void> send_due();
    // Sends (or marks as unwanted) one day's report for one domain; false: try again later.
    boost::asio::awaitable<bool> send(const std::string& day, const std::string& domain);

    struct delivery_outcome {
        std::vector<std::string> pending;  // addresses (or domains) to try again later, and why
        std::vector<std::string> done;     // addresses with a final answer
        std::vector<std::string> answers;  // those answers, for the log
    };

    boost::asio::awaitable<delivery_outcome> deliver(
        const config::config& cfg, const smtp::envelope& env, std::string message
    );

    boost::asio::io_context& io_;
    const std::shared_ptr<const config::config>& current_;
    tlspolicy::policy_cache& cache_;
    dns::resolver& resolver_;
    listener::intake& intake_;
    std::function<std::int64_t()> now_;
    boost::asio::steady_timer timer_;
    bool stopped_ = false;
};

}  // namespace outpost::daemon
