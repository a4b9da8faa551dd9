// The config loader (config/load.hpp load_string): TOML parsing and validation. The input is an
// outpost.toml. Files it names are only checked for readability, never read.
#include <string>
#include <variant>

#include "config/load.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace outpost;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(fuzz::as_text(data, size));
    auto r = config::load_string(text, "fuzz.toml");
    if (auto* e = std::get_if<config::load_error>(&r)) {
        FUZZ_CHECK(e->message.starts_with("fuzz.toml:"));
    }
    return 0;
}
