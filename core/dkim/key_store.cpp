// Loads the DKIM and ARC private keys named by the configuration.
#include "core/dkim/key_store.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <sys/stat.h>

#include "core/util/text.hpp"

namespace outpost::dkim {

namespace {

struct file_closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

key_error at(const config::position& where, const std::string& what) {
    return key_error{where.text() + ": " + what};
}

}  // namespace

std::variant<private_key, std::string> load_private_key_file(const std::string& path) {
    std::unique_ptr<std::FILE, file_closer> f(std::fopen(path.c_str(), "rb"));
    if (!f)
        return "cannot read private key \"" + path + "\": " + std::strerror(errno);

    struct stat st {};

    if (::fstat(::fileno(f.get()), &st) != 0)
        return "cannot read private key \"" + path + "\": " + std::strerror(errno);
    if (!S_ISREG(st.st_mode))
        return "private key \"" + path + "\" is not a regular file";
    if (st.st_mode & S_IROTH)
        return "private key \"" + path + "\" is readable by everyone; chmod 600 it";
    if (st.st_size > 64 * 1024)
        return "private key \"" + path + "\" is too large to be a PEM key";
    std::string pem;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0)
        pem.append(buf, n);
    if (std::ferror(f.get()))
        return "cannot read private key \"" + path + "\": " + std::strerror(errno);
    auto k = private_key::from_pem(pem);
    if (auto* e = std::get_if<std::string>(&k))
        return "private key \"" + path + "\": " + *e;
    return std::get<private_key>(std::move(k));
}

std::variant<std::monostate, std::string> check_key(
    const private_key& k, std::string_view algorithm
) {
    auto want = parse_algorithm(algorithm);
    if (!want)
        return "unknown algorithm \"" + std::string(algorithm) + "\"";
    if (k.algo() != *want)
        return std::string("the key is ") +
               (k.algo() == algorithm::rsa_sha256 ? "an RSA" : "an Ed25519") +
               " key but algorithm is \"" + std::string(algorithm) + "\"";
    if (k.algo() == algorithm::rsa_sha256 && (k.bits() < min_rsa_bits || k.bits() > max_rsa_bits))
        return "RSA key of " + std::to_string(k.bits()) + " bits; DKIM keys must have " +
               std::to_string(min_rsa_bits) + " to " + std::to_string(max_rsa_bits) + " bits";
    return std::monostate{};
}

std::variant<signer_settings, key_error> load_signer_settings(const config::config& c) {
    signer_settings s;
    for (const auto& entry : c.dkim_keys) {
        auto k = load_private_key_file(entry.private_key);
        if (auto* e = std::get_if<std::string>(&k))
            return at(entry.private_key_where, *e);
        auto& key = std::get<private_key>(k);
        auto checked = check_key(key, entry.algorithm);
        if (auto* e = std::get_if<std::string>(&checked))
            return at(entry.private_key_where, "dkim.private_key: " + *e);
        if (!entry.sign)
            continue;  // retired: checked like any key, so a reload still reports a broken file
        s.keys.push_back(domain_key{
            util::to_lower(entry.domain), entry.selector, std::move(key), entry.sign_subdomains});
    }
    if (c.arc.enabled) {
        const auto& a = c.arc;
        auto k = load_private_key_file(a.private_key);
        if (auto* e = std::get_if<std::string>(&k))
            return at(a.private_key_where, *e);
        auto& key = std::get<private_key>(k);
        auto checked = check_key(key, a.algorithm);
        if (auto* e = std::get_if<std::string>(&checked))
            return at(a.private_key_where, "arc.private_key: " + *e);
        auto authserv = a.authserv_id.empty() ? c.server.hostname : a.authserv_id;
        s.arc = arc_key{authserv, util::to_lower(a.domain), a.selector, std::move(key)};
    }
    if (!c.dkim.headers.empty())
        s.headers = c.dkim.headers;
    if (!c.dkim.oversign.empty())
        s.oversign = c.dkim.oversign;
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(c.dkim.expiration).count();
    if (seconds > 0)
        s.expiration = seconds;
    return s;
}

std::variant<signer, key_error> load_signer(const config::config& c) {
    auto s = load_signer_settings(c);
    if (auto* e = std::get_if<key_error>(&s))
        return *e;
    return signer(std::get<signer_settings>(std::move(s)));
}

}  // namespace outpost::dkim
