// One Redis reply as a value, copied out of hiredis's reply tree so it outlives the callback.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct redisReply;

namespace outpost::cluster {

struct redis_value {
    enum class type { nil, integer, string, status, error, array };

    redis_value::type kind = type::nil;
    std::int64_t integer = 0;
    std::string text;  // string, status and error replies
    std::vector<redis_value> items;

    bool is_error() const { return kind == type::error; }
};

redis_value copy_reply(const redisReply& r);

}  // namespace outpost::cluster
