// The Redis endpoint a [cluster] section names.
#pragma once

#include "config/schema.hpp"
#include "core/cluster/redis_link.hpp"

namespace outpost::cluster {

inline redis_endpoint endpoint_for(const config::cluster_section& c) {
    redis_endpoint e;
    e.host = c.host;
    e.port = c.port;
    e.socket_path = c.socket_path;
    e.database = c.database;
    e.username = c.username;
    e.password = c.password;
    e.timeout = c.timeout;
    return e;
}

}  // namespace outpost::cluster
