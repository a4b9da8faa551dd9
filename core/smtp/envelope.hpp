// The envelope of one message as accepted: paths, DSN parameters (RFC 3461) and where it came from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace outpost::smtp {

// RFC 3461 NOTIFY as bits; none set means the client did not say (default: FAILURE and DELAY).
enum notify_flags : std::uint8_t {
    notify_never = 1,
    notify_success = 2,
    notify_failure = 4,
    notify_delay = 8,
};

enum class body_type { unspecified, seven_bit, eight_bit_mime };
enum class dsn_ret { unspecified, full, headers };

struct recipient {
    std::string address;      // forward-path without brackets
    std::uint8_t notify = 0;  // notify_flags
    std::string orcpt;        // "rfc822;user@example.com", xtext-decoded; empty when absent
};

struct envelope {
    std::string reverse_path;  // without brackets; empty for the null sender
    std::vector<recipient> recipients;
    body_type body = body_type::unspecified;
    bool smtputf8 = false;
    dsn_ret ret = dsn_ret::unspecified;
    std::string envid;  // xtext-decoded
    std::optional<std::uint64_t> declared_size;

    // Where the message came from (for Received:, ARC and logs).
    std::string client_address;  // IP text
    std::string helo;
    std::string auth_user;        // empty when not authenticated
    bool client_trusted = false;  // in relay.allowed_networks
    std::string protocol;         // RFC 3848 / RFC 6531: ESMTP, ESMTPSA, UTF8SMTPS, ...
    std::string tls;              // "TLSv1.3 TLS_AES_256_GCM_SHA384"; empty without TLS
    // high | normal | low: the listener's default, or what the submission's priority header said.
    // Higher priority mail gets a destination's warming and throttle capacity first.
    std::string priority = "normal";
    // What the submission's tag header said ([events] tag_header), carried into its events so
    // that applications can correlate them with their own records.
    std::vector<std::string> tags;
};

}  // namespace outpost::smtp
