// Reads outpost.toml into config::config; every error is "FILE:LINE:COL: what is wrong".
#pragma once

#include <string>
#include <variant>

#include "config/schema.hpp"

namespace outpost::config {

struct load_error {
    std::string message;  // "FILE:LINE:COL: what is wrong", ready to print
};

// Parses and validates the file at path. Unknown keys, wrong types, bad addresses or networks,
// and missing or unreadable certificate, key and users files are errors. Never throws.
std::variant<config, load_error> load(const std::string& path);

// Same, from text already in memory (tests); file names the source in error messages.
std::variant<config, load_error> load_string(const std::string& text, const std::string& file);

}  // namespace outpost::config
