// outpostctl's side of a [cluster]: suppression changes made here reach Redis, so every node's
// list takes them within a second.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/schema.hpp"
#include "core/suppression/store.hpp"

namespace outpost::ctl {

// Publishes the local entries of addresses (as the list holds them now). An error text when Redis
// could not be reached: the entries stay in this node's list, and its daemon publishes them
// when it next synchronises.
std::optional<std::string> publish_entries(
    const config::cluster_section& cluster,
    suppression::store& local,
    const std::vector<std::string>& addresses
);

// Removes address from the shared list (with a tombstone, so no node brings it back); *was_there
// says whether the shared list had it. An error text when Redis could not be reached: then
// nothing was removed anywhere, because a removal made only here would come back from the
// shared list.
std::optional<std::string> remove_shared(
    const config::cluster_section& cluster,
    const std::string& address,
    std::int64_t now,
    bool* was_there
);

}  // namespace outpost::ctl
