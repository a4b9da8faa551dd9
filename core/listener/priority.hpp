// The submission priority header (and the event tag header): read, then removed before signing
// so that they never leave.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::listener {

// "high", "normal" or "low" (any case, surrounding white space ignored); nullopt otherwise.
std::optional<std::string> parse_priority(std::string_view value);

// Removes every field called name (case-insensitive, folded lines included) from the header
// section of message, in place, and returns their values (unfolded, trimmed) in order.
std::vector<std::string> take_header_fields(std::string& message, std::string_view name);

// Removes every field called name (case-insensitive, folded lines included) from the header
// section of message, in place, and returns the first one's value (unfolded, trimmed); nullopt
// when there was none. The body is never touched.
std::optional<std::string> take_header_field(std::string& message, std::string_view name);

}  // namespace outpost::listener
