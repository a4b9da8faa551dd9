// VERP return paths: which message and recipient a bounce is about, authenticated by an HMAC.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace outpost::bounce {

// What a return path names: the spool's queue id and the recipient's index in the envelope.
struct verp_token {
    std::string queue_id;
    std::uint32_t recipient_index = 0;
};

// Longest queue id a token carries, so the local part stays within RFC 5321's 64 octets.
inline constexpr std::size_t verp_max_queue_id = 32;

// The envelope sender for one recipient: "b+<queue id>.<index>.<mac>@<bounce domain>". The mac
// is HMAC-SHA256(secret, lower-cased "<queue id>.<index>") truncated to 80 bits, in lower-case
// base32: relays that fold the local part's case break nothing, and guessing a valid token for
// another recipient takes 2^80 tries. nullopt when the queue id is empty, longer than
// verp_max_queue_id, or has characters other than letters, digits, '-' and '_', or when the
// secret or the domain is empty.
std::optional<std::string> make_return_path(
    std::string_view queue_id,
    std::uint32_t recipient_index,
    std::string_view bounce_domain,
    std::string_view secret
);

// The token of a bounce's recipient address when it is a return path made under one of
// `secrets` (the current one first; older ones keep verifying during a rotation) for
// `bounce_domain` (compared case-insensitively). nullopt for any other address, a malformed
// token, or a mac that does not verify: a forged bounce names nobody. The mac is compared in
// constant time. The queue id comes back as the address spells it.
std::optional<verp_token> parse_return_path(
    std::string_view address, std::string_view bounce_domain, std::span<const std::string> secrets
);

}  // namespace outpost::bounce
