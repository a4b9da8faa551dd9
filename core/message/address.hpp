// RFC 5322 §3.4 address lists (From:, To:, ...) parsed far enough to know each mailbox's domain.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::message {

struct mailbox {
    std::string local_part;  // as written, quotes removed from a quoted-string
    std::string domain;      // lower case ASCII letters; a domain-literal keeps its brackets
};

// Parses an address-list field value (folded or not): display names, comments, quoted strings,
// angle addresses with obsolete routes, groups (RFC 6854) and 8-bit UTF-8 (RFC 6532). A group
// contributes its members, an empty group none. nullopt when the value is not an address list
// (a mailbox without "@", unbalanced quotes, brackets or parentheses).
std::optional<std::vector<mailbox>> parse_address_list(std::string_view value);

namespace detail {

// The common single-mailbox shapes, "local@domain" and "[display name] <local@domain>" with a
// display name of plain words and quoted strings (no comments, escapes, folding or groups): the
// same mailbox parse_address_list_full gives, without tokenizing. nullopt for any other shape,
// which is then left to the full parser.
std::optional<mailbox> parse_common_mailbox(std::string_view value);

// The full RFC 5322 parser behind parse_address_list.
std::optional<std::vector<mailbox>> parse_address_list_full(std::string_view value);

}  // namespace detail

}  // namespace outpost::message
