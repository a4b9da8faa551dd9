// Helpers shared by the DKIM unit tests: test data files, generated keys and key tables.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <variant>

#include <doctest/doctest.h>

#include "core/dkim/key.hpp"
#include "core/dkim/verify.hpp"

namespace outpost::dkim::test {

inline std::string read_data(const std::string& name) {
    std::ifstream in(
        std::string(OUTPOST_SOURCE_DIR) + "/tests/data/dkim/" + name, std::ios::binary
    );
    REQUIRE_MESSAGE(in.good(), "cannot read tests/data/dkim/" << name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline private_key unwrap(std::variant<private_key, std::string> k) {
    if (auto* e = std::get_if<std::string>(&k))
        FAIL(*e);
    return std::get<private_key>(std::move(k));
}

// Keys generated once per test binary: RSA generation is slow enough to matter.
inline const private_key& rsa_key() {
    static const private_key k = unwrap(private_key::generate(algorithm::rsa_sha256, 1024));
    return k;
}

inline const private_key& rsa_key2() {
    static const private_key k = unwrap(private_key::generate(algorithm::rsa_sha256, 2048));
    return k;
}

inline const private_key& ed_key() {
    static const private_key k = unwrap(private_key::generate(algorithm::ed25519_sha256, 0));
    return k;
}

inline const private_key& ed_key2() {
    static const private_key k = unwrap(private_key::generate(algorithm::ed25519_sha256, 0));
    return k;
}

// A key table entry name -> record.
using records = std::map<std::string, std::string>;

inline key_lookup lookup_of(const records& r) {
    std::map<std::string, key_answer> table;
    for (const auto& [name, txt] : r)
        table[name] = key_answer{key_answer::status::found, {txt}};
    return table_lookup(std::move(table));
}

}  // namespace outpost::dkim::test
