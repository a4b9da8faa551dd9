// Wires the DKIM signer into the intake's signing seam.
#pragma once

#include <string>
#include <variant>

#include "config/schema.hpp"
#include "core/listener/intake.hpp"

namespace outpost::daemon {

// The signing step for this configuration; empty when there are no [[dkim]] keys and no [arc].
// An error is "FILE:LINE:COL: message" (a key that cannot be read or does not fit its algorithm).
std::variant<listener::sign_fn, std::string> make_signer(const config::config& cfg);

}  // namespace outpost::daemon
