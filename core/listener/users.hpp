// The users file: one "name:pbkdf2-sha256$iterations$salt$hash" line per user (base64 salt and
// hash), managed with `outpostctl user add|remove`. Slow salted hashes, so a stolen file does not
// give the passwords away.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace outpost::listener {

inline constexpr unsigned default_pbkdf2_iterations = 600000;  // OWASP 2023 for PBKDF2-HMAC-SHA256

// A new encoded hash with a random 16-byte salt.
std::string hash_password(
    std::string_view password, unsigned iterations = default_pbkdf2_iterations
);

// Slow: runs PBKDF2. False for a malformed encoding.
bool verify_password(std::string_view password, std::string_view encoded);

class user_table {
public:
    // nullopt with error "FILE:LINE: message" when the file is malformed. A missing file is an
    // empty table only when missing_ok.
    static std::variant<user_table, std::string> load(
        const std::filesystem::path& path, bool missing_ok = false
    );

    // Writes atomically (temporary file, fsync, rename) with mode 0600.
    void save(const std::filesystem::path& path) const;

    bool contains(const std::string& name) const { return users_.count(name) != 0; }

    void set(const std::string& name, std::string encoded) { users_[name] = std::move(encoded); }

    bool remove(const std::string& name) { return users_.erase(name) != 0; }

    const std::map<std::string, std::string>& users() const { return users_; }

    // Slow (PBKDF2) the first time a user's password is checked; then a keyed digest of the
    // password is remembered in memory, so applications that AUTH on every connection do not
    // cost 100 ms of CPU each time. An unknown user costs as much as a known one. Thread-safe.
    bool verify(const std::string& name, std::string_view password) const;

private:
    std::map<std::string, std::string> users_;

    struct verified_cache {
        std::mutex mutex;
        std::map<std::string, std::string> digests;  // name -> HMAC(process key, password)
        std::string dummy;                           // checked for unknown names
    };

    std::unique_ptr<verified_cache> cache_ = std::make_unique<verified_cache>();
};

// Name rules: 1–64 bytes of letters, digits and . _ - @ +
bool valid_user_name(std::string_view name);

}  // namespace outpost::listener
