// DKIM keys in memory: private keys for signing, DNS key records for verifying (RFC 6376 §3.6,
// RFC 8463). Signing and verifying are const and safe to call from several threads at once.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <openssl/types.h>

namespace outpost::dkim {

enum class algorithm { rsa_sha256, ed25519_sha256 };

// "rsa-sha256" or "ed25519-sha256", the a= values (RFC 6376 §3.5, RFC 8463 §3).
const char* to_string(algorithm a);
std::optional<algorithm> parse_algorithm(std::string_view text);

using sha256_digest = std::array<unsigned char, 32>;

// SHA-256 of data (EVP, with the digest fetched once per process).
sha256_digest sha256(std::string_view data);

namespace detail {
// The process-wide SHA-256 implementation, fetched once (OpenSSL 3 fetches are not free).
const EVP_MD* sha256_md();
}  // namespace detail

class private_key {
public:
    // A PEM private key: PKCS#8 ("BEGIN PRIVATE KEY") RSA or Ed25519, or PKCS#1 RSA. The error is a
    // sentence without position, e.g. "not a PEM private key".
    static std::variant<private_key, std::string> from_pem(std::string_view pem);
    // An Ed25519 key from its 32-byte seed (RFC 8032 §5.1.5), as RFC 8463 Appendix A gives it.
    static std::variant<private_key, std::string> from_ed25519_seed(std::string_view seed);
    // A new random key: RSA of bits bits, or Ed25519 (bits ignored).
    static std::variant<private_key, std::string> generate(algorithm a, unsigned bits);

    algorithm algo() const { return algorithm_; }

    unsigned bits() const { return bits_; }  // modulus size for RSA, 256 for Ed25519

    // The p= value: base64 SubjectPublicKeyInfo for RSA, base64 raw 32 bytes for Ed25519.
    std::string public_key_base64() const;
    // The whole TXT record value, "v=DKIM1; k=rsa; p=...".
    std::string dns_record() const;
    // PKCS#8 PEM of the private key (keygen writes it).
    std::string pem() const;

    // The signature over canonical header data (RFC 6376 §3.7): RSASSA-PKCS1-v1_5 with SHA-256 of
    // data, or Ed25519 of SHA-256(data) (RFC 8463 §3). Raw bytes; empty only if OpenSSL fails.
    std::string sign(std::string_view data) const;

private:
    std::shared_ptr<EVP_PKEY> key_;
    algorithm algorithm_ = algorithm::rsa_sha256;
    unsigned bits_ = 0;
};

// A DKIM key record from DNS (RFC 6376 §3.6.1) with its public key ready for verification.
class public_key {
public:
    // Parses a TXT record value. Errors name the problem: "v= is not DKIM1", "key revoked (empty
    // p=)", "unknown key type k=...", "p= is not a valid rsa public key", ...
    static std::variant<public_key, std::string> from_record(std::string_view txt);

    algorithm algo() const { return algorithm_; }

    unsigned bits() const { return bits_; }

    bool testing() const { return testing_; }  // t=y

    bool strict() const { return strict_; }  // t=s: i= must be d= exactly

    bool allows_sha256() const { return sha256_ok_; }

    // Checks signature over data, the counterpart of private_key::sign.
    bool verify(std::string_view data, std::string_view signature) const;

private:
    std::shared_ptr<EVP_PKEY> key_;
    algorithm algorithm_ = algorithm::rsa_sha256;
    unsigned bits_ = 0;
    bool testing_ = false;
    bool strict_ = false;
    bool sha256_ok_ = true;
};

}  // namespace outpost::dkim
