// What the bounce handling remembers besides the suppression list: which address each VERP
// return path stood for (so a DSN maps to its recipient even when its body cannot be parsed),
// and counts of consecutive soft bounces. SQLite (WAL) next to the suppression list.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

struct sqlite3;
struct sqlite3_stmt;

namespace outpost::suppression {

struct sent_entry {
    std::string queue_id;
    std::uint32_t index = 0;
    std::string address;
    std::int64_t at = 0;
    // The source IP it left from and the destination's provider ("" when not shaped): a
    // complaint or bounce that comes back later counts against that IP's warming health.
    std::string source = {};
    std::string provider = {};
    // The message's Message-ID header, so that a bounce that comes back names it.
    std::string message_id = {};
};

class bounce_state {
public:
    // nullptr with *error set when the file cannot be opened or set up.
    static std::unique_ptr<bounce_state> open(const std::string& path, std::string* error);
    ~bounce_state();
    bounce_state(const bounce_state&) = delete;
    bounce_state& operator=(const bounce_state&) = delete;

    // One transaction for a batch. Not synced per commit (synchronous=NORMAL): losing the last
    // entries in a power cut only means a bounce for them is matched by its body instead.
    bool record_sent(std::span<const sent_entry> entries);
    std::optional<sent_entry> sent(std::string_view queue_id, std::uint32_t index);
    // Removes entries older than the cut-off (bounces do not come back after weeks).
    void prune_sent(std::int64_t older_than);

    // Records a soft bounce and returns how many there have been in a row within window seconds
    // (a run older than the window starts again at 1).
    unsigned record_soft(std::string_view address, std::int64_t now, std::int64_t window);
    // Forgets the address's soft bounces. Answered from memory when it has none (the common
    // case: every delivered recipient), since only this process counts them.
    void reset_soft(std::string_view address);
    // Soft bounces counted for the address within window at now (what record_soft would build
    // on); 0 when none.
    unsigned soft_count(std::string_view address, std::int64_t now, std::int64_t window);

private:
    explicit bounce_state(sqlite3* db) : db_(db) {}

    sqlite3* db_;
    // Prepared once: record_sent runs for every delivery batch, reset_soft for every delivered
    // recipient.
    sqlite3_stmt* insert_sent_ = nullptr;
    sqlite3_stmt* select_sent_ = nullptr;
    sqlite3_stmt* select_soft_ = nullptr;
    sqlite3_stmt* upsert_soft_ = nullptr;
    sqlite3_stmt* delete_soft_ = nullptr;
    // The addresses soft_bounces has rows for: read at open, kept up to date by record_soft and
    // reset_soft.
    std::unordered_set<std::string> soft_addresses_;
};

}  // namespace outpost::suppression
