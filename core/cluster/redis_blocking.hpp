// Blocking calls to Redis, for outpostctl (never for the daemon's event loop): connect within the
// endpoint's timeout, authenticate, select the database, and run commands in one pipeline.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/cluster/redis_link.hpp"
#include "core/cluster/suppression_sync.hpp"

namespace outpost::cluster {

// One reply per command, in order; nullopt, with the reason in *error, when Redis could not be
// reached or a reply did not come. Error replies are returned as values.
std::optional<std::vector<redis_value>> run_blocking(
    const redis_endpoint& endpoint, const std::vector<command_args>& commands, std::string* error
);

}  // namespace outpost::cluster
