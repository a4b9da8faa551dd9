// The suppression list: addresses that must not be mailed again, behind a small store interface.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::suppression {

// Where an entry came from.
enum class source { smtp_reply, dsn, complaint, manual, import };

std::string_view to_string(source s);

// Hard entries stay until removed; soft ones (soft bounces that reached the limit) expire after
// [bounce] soft_suppression_ttl, so a full mailbox or a passing block does not lose an address
// for good.
enum class kind { hard, soft };
std::string_view to_string(kind k);  // "hard", "soft"
std::optional<kind> parse_kind(std::string_view name);
// "smtp-reply", "dsn", "complaint", "manual", "import"; nullopt for anything else.
std::optional<source> parse_source(std::string_view name);

struct entry {
    std::string address;  // as first recorded (normalized: domain lower-cased), for display
    std::string reason;   // bounce reason name ("userunknown", "feedback", ...) or free text
    std::string status;   // RFC 3463 code, may be empty
    suppression::source origin = source::manual;
    std::int64_t first_seen = 0;  // unix seconds, UTC
    std::int64_t last_seen = 0;
    std::uint32_t count = 1;  // times recorded
    std::string message_id;   // the Message-ID of the mail that caused the last record, if known
    std::string queue_id;     // and its queue id here
    suppression::kind severity = kind::hard;  // a hard record makes the entry hard for good
    // An imported row that gave no time (its times are the import's): it adds a new address
    // and leaves one already listed as it is, so that importing it again changes nothing.
    bool undated = false;
};

// "User@Example.COM" -> "User@example.com": RFC 5321 §2.4 leaves the local part's case to the
// receiving host, domains are case-insensitive. Angle brackets and surrounding space are removed.
// "" when there is no '@' with something on both sides.
std::string normalize_address(std::string_view address);

// What entries are matched by: normalize_address() with the local part lower-cased too (ASCII
// letters only). RFC 5321 lets a receiver treat "Bad1" and "bad1" as different mailboxes, but in
// practice none does, and a suppression list that a change of case bypasses keeps mailing a dead
// address; SES, Postmark and SendGrid match the same way. "" for an invalid address.
std::string match_key(std::string_view address);

struct list_filter {
    std::optional<std::string> reason;  // only this reason
    std::optional<std::int64_t> since;  // only entries last seen at or after this time
    std::optional<std::string> domain;  // only addresses at this domain (any case)
    std::optional<kind> severity;       // only hard or only soft entries
    std::optional<source> origin;       // only entries from this source
    std::size_t limit = 0;              // 0: all
};

// A suppression store. Implementations are durable once a call returns; they match addresses by
// match_key() themselves, so callers may pass them as written.
class store {
public:
    virtual ~store() = default;

    // Records a suppression. A new address is stored as given (count 1). An address already
    // there (in any case) keeps its first_seen and the spelling it was first stored with, and gets
    // count + 1, the later last_seen, and the new reason,
    // status, origin and message id. False when the address is invalid or the write failed.
    virtual bool add(const entry& e) = 0;
    // An import, in one transaction: a new address is stored with the entry's count; one already
    // there keeps the larger count, the earlier first_seen and the later last_seen, and takes the
    // entry's reason, status and source when the entry is newer. Importing the same file twice
    // changes nothing. False, and nothing written, when any address is invalid or a write fails.
    virtual bool add_all(std::span<const entry> entries) = 0;
    virtual std::optional<entry> lookup(std::string_view address) = 0;
    // True when the address was there. Each removal is counted by the entry's reason, durably.
    virtual bool remove(std::string_view address) = 0;
    // Removals since the list was created, by reason (for the metrics; outpostctl removes too).
    virtual std::map<std::string, std::uint64_t> removed_by_reason() = 0;
    // Entries ordered by last_seen, newest first, then address.
    virtual std::vector<entry> list(const list_filter& filter) = 0;
    virtual std::size_t size() = 0;
    // The last error, for logs and the CLI; "" when none.
    virtual std::string last_error() const = 0;
};

}  // namespace outpost::suppression
