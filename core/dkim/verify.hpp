// DKIM signature verification (RFC 6376 §6, RFC 8463) and ARC chain validation (RFC 8617 §5.2).
// Pure: public keys come from a lookup callable, time from the options.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/message/header.hpp"

namespace outpost::dkim {

// RFC 8601 §2.7.1 result words.
enum class result { pass, fail, neutral, temperror, permerror };

const char* to_string(result r);

// The answer to a TXT query for a key record name ("sel._domainkey.example.com").
struct key_answer {
    enum class status {
        found,     // records holds the TXT records, each with its strings joined
        missing,   // NXDOMAIN or no TXT record: a permanent failure of the signature
        temporary  // SERVFAIL, timeout, not looked up: a temporary failure
    };
    status state = status::temporary;
    std::vector<std::string> records;
};

// Looks up a key record name; called synchronously, possibly several times per message.
using key_lookup = std::function<key_answer(std::string_view name)>;

// A lookup answering from a table filled beforehand (the daemon resolves key_names() with its
// asynchronous resolver first). Names absent from the table answer temporary.
key_lookup table_lookup(std::map<std::string, key_answer> table);

// The key record names a message's DKIM-Signature, ARC-Message-Signature and ARC-Seal fields
// need, lower case, without a final dot, each once, in order of appearance.
std::vector<std::string> key_names(std::span<const message::header_field> fields);

struct verify_options {
    std::int64_t now = 0;          // unix seconds, for x=
    unsigned min_rsa_bits = 1024;  // RFC 8301 §3.2
};

// One DKIM-Signature (or ARC-Message-Signature) checked.
struct signature_result {
    result status = result::permerror;
    std::string reason;     // "ok", "body hash mismatch", "signature did not verify", ...
    std::string domain;     // d=
    std::string selector;   // s=
    std::string algorithm;  // a=
    std::string identity;   // i= (DKIM), empty when absent
    std::string b_prefix;   // the first 8 characters of b=, for header.b (RFC 6008)
    const message::header_field* field = nullptr;
};

// Checks every DKIM-Signature field, top to bottom. l= is honoured; x= in the past fails.
std::vector<signature_result> verify(
    const message::message_view& message, const key_lookup& lookup, const verify_options& options
);

enum class chain_status { none, pass, fail };

const char* to_string(chain_status s);

struct arc_set_result {
    unsigned instance = 0;
    std::string cv;            // the seal's cv= as written
    signature_result message;  // ARC-Message-Signature i=instance
    signature_result seal;     // ARC-Seal i=instance
};

struct arc_result {
    chain_status status = chain_status::none;
    std::string reason;
    unsigned instance = 0;   // the highest instance present
    bool sealable = true;    // false: at i=50, or its last seal says cv=fail (RFC 8617 §5.1)
    bool temporary = false;  // fail only because a key look-up failed temporarily: retry later
    std::vector<arc_set_result> sets;  // highest instance first, as far as validation went
};

// Validates the ARC chain (RFC 8617 §5.2): structure, the newest AMS, and every seal.
arc_result validate_arc(
    const message::message_view& message, const key_lookup& lookup, const verify_options& options
);

}  // namespace outpost::dkim
