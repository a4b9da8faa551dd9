// The spool file format, as pure functions: an envelope block in text, the message bytes, then
// appended per-recipient results. One file per message, readable with less(1):
//
//   outpost-spool 1
//   id 0193A8F4C2B1A0042
//   arrived 1764020000
//   from app@example.com            (empty value: the null sender)
//   rcpt 6 - bob@example.net        (NOTIFY bits, ORCPT or "-", address)
//   ... client, helo, auth, protocol, tls, body, smtputf8, ret, envid, size
//   <empty line>
//   <exactly `size` bytes of message>
//   delivered 0 1764020060 250%202.0.0%20ok   (results, appended later, one line each)
//   retry 1 2 1764020960 451%204.3.0%20later  (a deferral: recipient, attempts, next attempt)
//   dsn 0,2                                   (bounced recipients a DSN has been spooled for)
//
// Values are percent-encoded where they could hold spaces, controls or '%'.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/smtp/envelope.hpp"

namespace outpost::spool {

// What became of one recipient, appended after the message bytes.
struct recipient_result {
    std::size_t index = 0;  // into envelope.recipients
    enum class kind { delivered, bounced } outcome = kind::delivered;
    std::int64_t at = 0;  // unix seconds
    std::string reply;    // the remote reply or the reason, one line
};

// A recipient's retry schedule after a temporary failure. Appended with each deferral so that a
// restart neither retries everything at once nor starts the attempt count again; the last line
// for a recipient is the one in force. Readers that do not know the line skip it.
struct retry_state {
    std::size_t index = 0;          // into envelope.recipients
    unsigned attempts = 0;          // failed attempts so far
    std::int64_t next_attempt = 0;  // unix seconds
    std::string reply;              // the last temporary failure, one line
};

struct record {
    std::string id;
    std::int64_t arrived = 0;  // unix seconds
    smtp::envelope env;
    std::uint64_t size = 0;          // message bytes
    std::size_t message_offset = 0;  // where they start in the file
    std::vector<recipient_result> results;
    std::vector<retry_state> retries;  // in file order
    std::set<std::size_t> reported;    // bounced recipients a DSN was spooled for ("dsn" lines)
};

// The text that precedes the message bytes (ends with the empty line).
std::string format_envelope(
    std::string_view id, std::int64_t arrived, const smtp::envelope& env, std::uint64_t message_size
);

std::string format_result(const recipient_result& r);
std::string format_retry(const retry_state& r);
// "dsn 0,2\n": these recipients' bounces are in a spooled DSN (none is sent again at restart).
std::string format_reported(const std::vector<std::size_t>& indexes);

// Parses a whole spool file. nullopt with *error set when it is damaged (a file cut short by a
// crash cannot exist in queue/, because files are renamed there only after fdatasync).
std::optional<record> parse(std::string_view file, std::string* error = nullptr);

std::string percent_encode(std::string_view s);
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace outpost::spool
