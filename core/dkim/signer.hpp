// The signing step of the daemon: DKIM signatures for the From: domain, then an ARC set
// (RFC 6376, RFC 8463, RFC 8617), over a message kept as an added prefix plus the bytes received.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dkim/key.hpp"
#include "core/dkim/sign.hpp"
#include "core/dkim/verify.hpp"

namespace outpost::dkim {

// One [[dkim]] entry with its key loaded.
struct domain_key {
    std::string domain;  // lower case
    std::string selector;
    private_key key;
    bool sign_subdomains = true;  // a subdomain without a key of its own signs as d=domain
};

// [arc] with its key loaded.
struct arc_key {
    std::string authserv_id;
    std::string domain;
    std::string selector;
    private_key key;
};

struct signer_settings {
    std::vector<domain_key> keys;
    std::optional<arc_key> arc;  // nullopt: no sealing
    std::vector<std::string> headers = default_signed_headers();
    std::vector<std::string> oversign = default_oversigned_headers();
    std::optional<std::int64_t> expiration;  // seconds from t= to x=
};

// What the daemon knows about the submission when it signs.
struct sign_context {
    std::int64_t time = 0;                       // unix seconds: t= of every signature and seal
    std::optional<std::string> auth_user;        // the SMTP AUTH identity, when authenticated
    std::string client_ip;                       // text form of the client's address
    std::optional<std::string> allowed_network;  // "127.0.0.0/8": relayed by network, not AUTH
    // Public keys for the DKIM signatures and ARC chain the message arrived with; see
    // signer::key_names(). Empty: every look-up is a temporary failure.
    key_lookup lookup;
};

enum class skip_reason {
    none,             // signed
    no_from,          // no From: field (RFC 6376 §5.4 needs one to sign)
    several_from,     // more than one From: field (RFC 5322 §3.6 allows one; DMARC rejects)
    unparsable_from,  // From: holds no parsable mailbox
    several_domains,  // From: mailboxes in more than one domain: no single d= aligns
    no_key,           // no [[dkim]] entry for the From: domain or a parent signing subdomains
    signing_failed    // OpenSSL failed (should not happen with keys that loaded)
};

const char* to_string(skip_reason r);

struct sign_outcome {
    // The fields to write above the prefix, each ending in CRLF: the ARC set (ARC-Seal,
    // ARC-Message-Signature, ARC-Authentication-Results), then the DKIM-Signature fields, so that
    // the newest trace fields come first. Empty when the message is not signed.
    std::string header_block;
    skip_reason reason = skip_reason::none;
    std::string detail;          // a log-ready sentence on what was done or why not
    std::string from_domain;     // the From: domain, when one was found
    std::string signing_domain;  // d= of the DKIM signatures, empty when not signed
    unsigned signatures = 0;     // DKIM-Signature fields in header_block
    bool sealed = false;         // an ARC set is in header_block
    chain_status incoming_chain = chain_status::none;  // the ARC chain as it arrived
    unsigned arc_instance = 0;                         // i= of the new set when sealed

    bool is_signed() const { return reason == skip_reason::none; }
};

// Immutable after construction; sign() and key_names() are const and may run on several
// threads at once. Build a new one on reload.
class signer {
public:
    explicit signer(signer_settings settings);

    // Signs prefix + original (prefix: whole header fields added above the received message, or
    // empty) without concatenating them.
    sign_outcome sign(std::string_view prefix, std::string_view original, const sign_context& ctx)
        const;

    // The key record names sign() will look up for this message (its DKIM signatures and ARC
    // chain), so an asynchronous caller can resolve them first and pass table_lookup(...).
    std::vector<std::string> key_names(std::string_view prefix, std::string_view original) const;

    // The [[dkim]] entries that sign mail From: domain, and the d= they sign as; empty when none.
    // A domain has few keys, so they are kept inline rather than allocated per message.
    using key_list = boost::container::small_vector<const domain_key*, 4>;
    key_list keys_for(std::string_view domain) const;

    const signer_settings& settings() const { return settings_; }

private:
    signer_settings settings_;
    detail::prepared_options dkim_;  // settings_ as DKIM-Signature options
    detail::prepared_options ams_;   // and as ARC-Message-Signature options
};

}  // namespace outpost::dkim
