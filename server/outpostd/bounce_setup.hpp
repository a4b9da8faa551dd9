// Opens what bounce handling needs in the spool directory: the suppression list, the VERP and
// soft-bounce state, and the VERP secret (generated once when the config gives none).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/schema.hpp"
#include "core/suppression/bounce_state.hpp"
#include "core/suppression/store.hpp"

namespace outpost::daemon {

struct bounce_stores {
    std::unique_ptr<suppression::store> list;
    std::unique_ptr<suppression::bounce_state> state;
    std::vector<std::string> secrets;  // current first
};

// Throws std::runtime_error naming the file on failure.
bounce_stores open_bounce_stores(const config::config& cfg);

}  // namespace outpost::daemon
