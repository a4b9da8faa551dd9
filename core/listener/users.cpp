#include "core/listener/users.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/text.hpp"

namespace outpost::listener {

namespace {

constexpr std::string_view scheme = "pbkdf2-sha256";
constexpr std::size_t hash_bytes = 32;

struct parsed_hash {
    unsigned iterations = 0;
    std::string salt;
    std::string hash;
};

std::optional<parsed_hash> parse_hash(std::string_view encoded) {
    auto parts = util::split(encoded, '$');
    if (parts.size() != 4 || parts[0] != scheme)
        return std::nullopt;
    parsed_hash p;
    auto [ptr, ec] =
        std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), p.iterations);
    if (ec != std::errc{} || ptr != parts[1].data() + parts[1].size() || p.iterations < 1000)
        return std::nullopt;
    auto salt = util::base64_decode(parts[2]);
    auto hash = util::base64_decode(parts[3]);
    if (!salt || !hash || salt->size() < 8 || hash->size() != hash_bytes)
        return std::nullopt;
    p.salt = std::move(*salt);
    p.hash = std::move(*hash);
    return p;
}

std::string pbkdf2(std::string_view password, std::string_view salt, unsigned iterations) {
    std::string out(hash_bytes, '\0');
    if (PKCS5_PBKDF2_HMAC(
            password.data(), static_cast<int>(password.size()),
            reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
            static_cast<int>(iterations), EVP_sha256(), static_cast<int>(out.size()),
            reinterpret_cast<unsigned char*>(out.data())
        ) != 1)
        throw std::runtime_error("PBKDF2 failed");
    return out;
}

// A random key for this process only: the verification cache never holds anything that would
// help outside it.
const std::string& process_key() {
    static const std::string key = [] {
        std::string k(32, '\0');
        if (RAND_bytes(reinterpret_cast<unsigned char*>(k.data()), static_cast<int>(k.size())) != 1)
            throw std::runtime_error("RAND_bytes failed");
        return k;
    }();
    return key;
}

std::string keyed_digest(std::string_view name, std::string_view password) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    std::string input = fmt::format("{}\n{}", name, password);
    HMAC(
        EVP_sha256(), process_key().data(), static_cast<int>(process_key().size()),
        reinterpret_cast<const unsigned char*>(input.data()), input.size(), md, &len
    );
    OPENSSL_cleanse(input.data(), input.size());
    return std::string(reinterpret_cast<char*>(md), len);
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

bool valid_user_name(std::string_view name) {
    if (name.empty() || name.size() > 64)
        return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-' || c == '@' || c == '+';
        if (!ok)
            return false;
    }
    return true;
}

std::string hash_password(std::string_view password, unsigned iterations) {
    std::string salt(16, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
        1)
        throw std::runtime_error("RAND_bytes failed");
    return fmt::format(
        "{}${}${}${}", scheme, iterations, util::base64_encode(salt),
        util::base64_encode(pbkdf2(password, salt, iterations))
    );
}

bool verify_password(std::string_view password, std::string_view encoded) {
    auto p = parse_hash(encoded);
    if (!p)
        return false;
    return equal_constant_time(pbkdf2(password, p->salt, p->iterations), p->hash);
}

std::variant<user_table, std::string> user_table::load(
    const std::filesystem::path& path, bool missing_ok
) {
    std::ifstream in(path);
    if (!in) {
        if (missing_ok && !std::filesystem::exists(path))
            return user_table{};
        return fmt::format("{}: cannot read the users file", path.string());
    }
    user_table t;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        auto text = util::trim(line);
        if (text.empty() || text.starts_with('#'))
            continue;
        auto colon = text.find(':');
        if (colon == std::string_view::npos)
            return fmt::format("{}:{}: expected NAME:HASH", path.string(), number);
        std::string name(text.substr(0, colon));
        auto hash = text.substr(colon + 1);
        if (!valid_user_name(name))
            return fmt::format("{}:{}: bad user name \"{}\"", path.string(), number, name);
        if (!parse_hash(hash))
            return fmt::format(
                "{}:{}: the hash of \"{}\" is not pbkdf2-sha256$ITERATIONS$SALT$HASH",
                path.string(), number, name
            );
        if (t.users_.count(name))
            return fmt::format("{}:{}: user \"{}\" appears twice", path.string(), number, name);
        t.users_[name] = std::string(hash);
    }
    return t;
}

void user_table::save(const std::filesystem::path& path) const {
    std::string text =
        "# Outpost users: NAME:pbkdf2-sha256$ITERATIONS$SALT$HASH. Manage with outpostctl user.\n";
    for (const auto& [name, hash] : users_)
        text += fmt::format("{}:{}\n", name, hash);
    auto tmp = path;
    tmp += ".tmp";
    auto old_mask = ::umask(077);
    FILE* f = std::fopen(tmp.c_str(), "w");
    ::umask(old_mask);
    if (!f)
        throw std::runtime_error(fmt::format("cannot write {}", tmp.string()));
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 &&
              ::fsync(::fileno(f)) == 0;
    ok = std::fclose(f) == 0 && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error(fmt::format("cannot write {}", path.string()));
    }
    ::chmod(path.c_str(), 0600);
}

bool user_table::verify(const std::string& name, std::string_view password) const {
    auto digest = keyed_digest(name, password);
    auto it = users_.find(name);
    {
        std::lock_guard lock(cache_->mutex);
        auto c = cache_->digests.find(name);
        if (it != users_.end() && c != cache_->digests.end() &&
            equal_constant_time(c->second, digest))
            return true;
    }
    // Unknown users run PBKDF2 as well, so timing does not tell which names exist.
    // The dummy costs what the table's slowest entry costs, so timing does not tell names apart.
    std::string dummy;
    {
        std::lock_guard lock(cache_->mutex);
        if (cache_->dummy.empty()) {
            unsigned iterations = default_pbkdf2_iterations;
            for (const auto& [n, encoded] : users_)
                if (auto parsed = parse_hash(encoded))
                    iterations = std::max(iterations, parsed->iterations);
            cache_->dummy = hash_password("outpost-dummy-password", iterations);
        }
        dummy = cache_->dummy;
    }
    bool ok = verify_password(
        password, it == users_.end() ? std::string_view(dummy) : std::string_view(it->second)
    );
    if (ok && it != users_.end()) {
        std::lock_guard lock(cache_->mutex);
        cache_->digests[name] = std::move(digest);
    }
    return ok && it != users_.end();
}

}  // namespace outpost::listener
