// Configs from TOML text, for unit tests: config_from fails the test with the loader's
// FILE:LINE:COL error when the text does not load; config_error_of returns that error.
#pragma once

#include <string>
#include <variant>

#include <doctest/doctest.h>

#include "config/load.hpp"

namespace outpost::test {

inline config::config config_from(const std::string& text) {
    auto r = config::load_string(text, "t.toml");
    if (auto* e = std::get_if<config::load_error>(&r))
        FAIL(e->message);
    return std::get<config::config>(r);
}

// The loader's error for text, or "no error" when it loads.
inline std::string config_error_of(const std::string& text) {
    auto r = config::load_string(text, "t.toml");
    if (auto* e = std::get_if<config::load_error>(&r))
        return e->message;
    return "no error";
}

}  // namespace outpost::test
