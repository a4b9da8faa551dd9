// One recipient's outcome as the event log records it and webhooks send it: a JSON object on
// one line. Every event has a unique id (receivers deduplicate by it: webhooks deliver at least
// once) and the time it happened.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::events {

enum class kind { accepted, delivered, deferred, bounced, expired, suppressed, complaint };

std::string_view to_string(kind k);
std::optional<kind> kind_from(std::string_view text);

struct event {
    std::string id;  // 32 hex digits, random
    kind what = kind::accepted;
    std::int64_t at_ms = 0;  // unix milliseconds
    std::string queue_id;    // "" for a refusal at RCPT (nothing was queued)
    std::string message_id;
    std::string auth_user;
    std::string sender;
    std::string recipient;
    std::string destination;  // the recipient's domain
    std::string mx;           // the host that answered, when one did
    std::string mx_address;   // its IP:port
    std::string tls;          // "TLSv1.3 TLS_AES_256_GCM_SHA384"; "" in the clear
    std::string source_ip;
    unsigned attempt = 0;                      // delivery attempts so far, this one included
    std::optional<std::int64_t> next_attempt;  // unix seconds, for a deferral
    int reply_code = 0;
    std::string status;    // enhanced status code, e.g. "5.1.1"
    std::string reply;     // the reply text as received (or why, when no reply)
    std::string reason;    // bounce classification (userunknown, mailboxfull, ...)
    std::string severity;  // "hard" | "soft" for bounced and complaint
    std::vector<std::string> tags;
};

// Where components hand their events (the daemon's event_log); empty: no event log.
using sink = std::function<void(event)>;

// A fresh event id.
std::string new_event_id();

// The event as one line of JSON (no newline); fields that are empty are left out.
std::string to_json(const event& e);

// Back from a line (the log is read back by webhooks); nullopt for anything else.
std::optional<event> from_json(std::string_view line);

}  // namespace outpost::events
