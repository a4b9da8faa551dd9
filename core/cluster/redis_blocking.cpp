#include "core/cluster/redis_blocking.hpp"

#include <memory>

#include <hiredis/hiredis.h>
#include <sys/time.h>

namespace outpost::cluster {

namespace {

struct context_free {
    void operator()(redisContext* c) const { redisFree(c); }
};

struct reply_free {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};

void append(redisContext* c, const command_args& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data());
}

}  // namespace

std::optional<std::vector<redis_value>> run_blocking(
    const redis_endpoint& endpoint, const std::vector<command_args>& commands, std::string* error
) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(endpoint.timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((endpoint.timeout.count() % 1000) * 1000);
    std::unique_ptr<redisContext, context_free> c(
        endpoint.socket_path.empty()
            ? redisConnectWithTimeout(endpoint.host.c_str(), static_cast<int>(endpoint.port), tv)
            : redisConnectUnixWithTimeout(endpoint.socket_path.c_str(), tv)
    );
    if (!c || c->err) {
        *error = c ? c->errstr : "out of memory";
        return std::nullopt;
    }
    redisSetTimeout(c.get(), tv);
    std::vector<command_args> all;
    if (!endpoint.password.empty()) {
        all.push_back({"AUTH"});
        if (!endpoint.username.empty())
            all.back().push_back(endpoint.username);
        all.back().push_back(endpoint.password);
    }
    if (endpoint.database != 0)
        all.push_back({"SELECT", std::to_string(endpoint.database)});
    auto handshake = all.size();
    all.insert(all.end(), commands.begin(), commands.end());
    for (const auto& args : all)
        append(c.get(), args);
    std::vector<redis_value> replies;
    for (std::size_t i = 0; i < all.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(c.get(), &raw) != REDIS_OK || !raw) {
            *error = c->err ? c->errstr : "no reply";
            return std::nullopt;
        }
        std::unique_ptr<redisReply, reply_free> reply(static_cast<redisReply*>(raw));
        auto value = copy_reply(*reply);
        if (i < handshake) {
            if (value.is_error()) {
                *error = all[i][0] + ": " + value.text;  // AUTH or SELECT; never the password
                return std::nullopt;
            }
            continue;
        }
        replies.push_back(std::move(value));
    }
    return replies;
}

}  // namespace outpost::cluster
