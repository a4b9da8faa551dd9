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

// A command in argv form, as redis_link::command and run_blocking take it.
using command_args = std::vector<std::string>;

// The texts of an array reply (an HGETALL's fields and values, in order); empty for anything else.
std::vector<std::string> texts_of(const redis_value& v);

}  // namespace outpost::cluster
