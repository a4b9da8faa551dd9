// Where things live under [server] spool_dir:
//   tmp/      files being written; never acknowledged, removed at start
//   queue/    one file per accepted message (see record.hpp), named by queue id
//   state/    SQLite stores (suppression, warming counters) added by later parts
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace outpost::spool {

struct layout {
    std::filesystem::path root;

    std::filesystem::path tmp() const { return root / "tmp"; }

    std::filesystem::path queue() const { return root / "queue"; }

    std::filesystem::path message(const std::string& id) const { return queue() / id; }

    // An empty marker next to a held message: not delivered until released (survives restarts).
    std::filesystem::path hold_marker(const std::string& id) const {
        return queue() / (id + ".hold");
    }
};

// Creates the folders (mode 0700) if needed and removes leftovers in tmp/ (messages whose 250 was
// never sent). Throws std::filesystem::filesystem_error on failure.
void prepare(const layout& l);

// A whole file (a spool file, a message), or nullopt when it cannot be read (gone meanwhile).
std::optional<std::string> read_file(const std::filesystem::path& p);

// The queue ids in queue/, oldest first. With held, also the ids that have a hold marker (from
// the same directory scan: no stat per message).
std::vector<std::string> list_queue(const layout& l, std::set<std::string>* held = nullptr);

}  // namespace outpost::spool
