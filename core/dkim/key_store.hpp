// Loads the DKIM and ARC private keys named by the configuration (the one file of core/dkim that
// touches the file system); errors carry the config position, "FILE:LINE:COL: message".
#pragma once

#include <string>
#include <variant>

#include "config/schema.hpp"
#include "core/dkim/key.hpp"
#include "core/dkim/signer.hpp"

namespace outpost::dkim {

struct key_error {
    std::string message;  // "FILE:LINE:COL: what is wrong", ready to print
};

inline constexpr unsigned min_rsa_bits = 1024;  // RFC 8301 §3.2
inline constexpr unsigned max_rsa_bits = 4096;  // larger keys do not fit a TXT record well

// Reads a PEM private key. Refuses a file that cannot be read or that everyone may read (a DKIM
// key is a secret: "chmod 600 it"). The error is a sentence without position.
std::variant<private_key, std::string> load_private_key_file(const std::string& path);

// Checks a loaded key against the algorithm its entry names and the RSA size limits.
std::variant<std::monostate, std::string> check_key(
    const private_key& k, std::string_view algorithm
);

// Every [[dkim]] key, [arc] when enabled, and [dkim_signing], loaded and checked.
std::variant<signer_settings, key_error> load_signer_settings(const config::config& c);

// A signer for the configuration: call at start and on reload, and keep the old signer if this
// fails.
std::variant<signer, key_error> load_signer(const config::config& c);

}  // namespace outpost::dkim
