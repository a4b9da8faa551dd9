// DSN parsing over an already parsed message, shared by parse_dsn() and the classifier.
#pragma once

#include <optional>

#include "core/bounce/detail/mime.hpp"
#include "core/bounce/dsn.hpp"

namespace outpost::bounce::detail {

// The first part (depth first) with this media type; nullptr when none.
const entity* find_part(const entity& e, std::string_view media_type);

// parse_dsn() over a parsed message.
std::optional<dsn> read_dsn(const entity& message);

}  // namespace outpost::bounce::detail
