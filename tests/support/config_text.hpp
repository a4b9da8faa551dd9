// A config from TOML text, for unit tests: the test fails with the loader's FILE:LINE:COL error
// when the text does not load.
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

}  // namespace outpost::test
