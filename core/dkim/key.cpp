// DKIM keys in memory: private keys for signing, DNS key records for verifying.
#include "core/dkim/key.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/dkim/detail/tag_list.hpp"
#include "core/util/text.hpp"

namespace outpost::dkim {

namespace {

using pkey_ptr = std::shared_ptr<EVP_PKEY>;

pkey_ptr own(EVP_PKEY* k) {
    return pkey_ptr(k, EVP_PKEY_free);
}

struct md_ctx {
    EVP_MD_CTX* p = EVP_MD_CTX_new();

    md_ctx() = default;
    md_ctx(const md_ctx&) = delete;
    md_ctx& operator=(const md_ctx&) = delete;

    ~md_ctx() { EVP_MD_CTX_free(p); }
};

struct bio {
    BIO* p;

    explicit bio(BIO* b) : p(b) {}

    bio(const bio&) = delete;
    bio& operator=(const bio&) = delete;

    ~bio() { BIO_free(p); }
};

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

// Refuses to prompt for a pass phrase: an encrypted key is simply not loadable.
int no_password(char*, int, int, void*) {
    return 0;
}

std::variant<algorithm, std::string> kind_of(EVP_PKEY* k) {
    switch (EVP_PKEY_get_base_id(k)) {
        case EVP_PKEY_RSA:
            return algorithm::rsa_sha256;
        case EVP_PKEY_ED25519:
            return algorithm::ed25519_sha256;
        default:
            return std::string("key is neither RSA nor Ed25519");
    }
}

}  // namespace

const char* to_string(algorithm a) {
    return a == algorithm::rsa_sha256 ? "rsa-sha256" : "ed25519-sha256";
}

std::optional<algorithm> parse_algorithm(std::string_view text) {
    if (text == "rsa-sha256")
        return algorithm::rsa_sha256;
    if (text == "ed25519-sha256")
        return algorithm::ed25519_sha256;
    return std::nullopt;
}

const EVP_MD* detail::sha256_md() {
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
}

sha256_digest sha256(std::string_view data) {
    sha256_digest out{};
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &n, detail::sha256_md(), nullptr);
    return out;
}

std::variant<private_key, std::string> private_key::from_pem(std::string_view pem) {
    bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* raw = PEM_read_bio_PrivateKey(b.p, nullptr, no_password, nullptr);
    if (!raw)
        return std::string("not a PEM private key (or an encrypted one)");
    private_key k;
    k.key_ = own(raw);
    auto kind = kind_of(raw);
    if (auto* e = std::get_if<std::string>(&kind))
        return *e;
    k.algorithm_ = std::get<algorithm>(kind);
    k.bits_ = static_cast<unsigned>(EVP_PKEY_get_bits(raw));
    return k;
}

std::variant<private_key, std::string> private_key::from_ed25519_seed(std::string_view seed) {
    if (seed.size() != 32)
        return std::string("an Ed25519 seed is 32 bytes");
    EVP_PKEY* raw =
        EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes(seed), seed.size());
    if (!raw)
        return std::string("OpenSSL refused the Ed25519 seed");
    private_key k;
    k.key_ = own(raw);
    k.algorithm_ = algorithm::ed25519_sha256;
    k.bits_ = 256;
    return k;
}

std::variant<private_key, std::string> private_key::generate(algorithm a, unsigned bits) {
    EVP_PKEY* raw = a == algorithm::rsa_sha256
                        ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits))
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!raw)
        return std::string("key generation failed");
    private_key k;
    k.key_ = own(raw);
    k.algorithm_ = a;
    k.bits_ = static_cast<unsigned>(EVP_PKEY_get_bits(raw));
    return k;
}

std::string private_key::public_key_base64() const {
    std::string der;
    if (algorithm_ == algorithm::ed25519_sha256) {
        std::size_t n = 32;
        der.resize(n);
        EVP_PKEY_get_raw_public_key(key_.get(), reinterpret_cast<unsigned char*>(der.data()), &n);
        der.resize(n);
    } else {
        int n = i2d_PUBKEY(key_.get(), nullptr);
        if (n <= 0)
            return {};
        der.resize(static_cast<std::size_t>(n));
        auto* p = reinterpret_cast<unsigned char*>(der.data());
        i2d_PUBKEY(key_.get(), &p);
    }
    return util::base64_encode(der);
}

std::string private_key::dns_record() const {
    return std::string("v=DKIM1; k=") + (algorithm_ == algorithm::rsa_sha256 ? "rsa" : "ed25519") +
           "; p=" + public_key_base64();
}

std::string private_key::pem() const {
    bio b(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(b.p, key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(b.p, &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string{};
}

std::string private_key::sign(std::string_view data) const {
    md_ctx ctx;
    std::string sig;
    std::size_t n = 0;
    if (algorithm_ == algorithm::rsa_sha256) {
        if (EVP_DigestSignInit(ctx.p, nullptr, detail::sha256_md(), nullptr, key_.get()) != 1 ||
            EVP_DigestSign(ctx.p, nullptr, &n, bytes(data), data.size()) != 1)
            return {};
        sig.resize(n);
        if (EVP_DigestSign(
                ctx.p, reinterpret_cast<unsigned char*>(sig.data()), &n, bytes(data), data.size()
            ) != 1)
            return {};
    } else {
        // RFC 8463 §3: Ed25519 (pure, RFC 8032) signs the SHA-256 hash of the header data.
        auto h = sha256(data);
        n = 64;
        sig.resize(n);
        if (EVP_DigestSignInit(ctx.p, nullptr, nullptr, nullptr, key_.get()) != 1 ||
            EVP_DigestSign(
                ctx.p, reinterpret_cast<unsigned char*>(sig.data()), &n, h.data(), h.size()
            ) != 1)
            return {};
    }
    sig.resize(n);
    return sig;
}

std::variant<public_key, std::string> public_key::from_record(std::string_view txt) {
    auto tags = parse_tag_list(txt);
    if (!tags)
        return std::string("key record is not a valid tag list");
    public_key k;
    if (const auto* v = find_tag(*tags, "v"); v && v->value != "DKIM1")
        return std::string("key record v= is not DKIM1");
    if (const auto* h = find_tag(*tags, "h")) {
        k.sha256_ok_ = false;
        for (const auto& a : split_colon_list(h->value))
            if (a == "sha256")
                k.sha256_ok_ = true;
    }
    if (const auto* s = find_tag(*tags, "s")) {
        bool email = false;
        for (const auto& t : split_colon_list(s->value))
            if (t == "*" || t == "email")
                email = true;
        if (!email)
            return std::string("key record s= does not allow email");
    }
    if (const auto* t = find_tag(*tags, "t")) {
        for (const auto& f : split_colon_list(t->value)) {
            if (f == "y")
                k.testing_ = true;
            else if (f == "s")
                k.strict_ = true;
        }
    }
    std::string type = "rsa";
    if (const auto* kt = find_tag(*tags, "k"))
        type = strip_fws(kt->value);
    const auto* p = find_tag(*tags, "p");
    if (!p)
        return std::string("key record has no p=");
    auto p_text = strip_fws(p->value);
    if (p_text.empty())
        return std::string("key revoked (empty p=)");
    auto der = util::base64_decode(p_text);
    if (!der)
        return std::string("key record p= is not base64");
    if (type == "rsa") {
        const auto* in = bytes(*der);
        EVP_PKEY* raw = d2i_PUBKEY(nullptr, &in, static_cast<long>(der->size()));
        if (!raw || EVP_PKEY_get_base_id(raw) != EVP_PKEY_RSA) {
            EVP_PKEY_free(raw);
            // Some publish a bare PKCS#1 RSAPublicKey instead of SubjectPublicKeyInfo.
            in = bytes(*der);
            raw = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &in, static_cast<long>(der->size()));
        }
        if (!raw)
            return std::string("key record p= is not an RSA public key");
        k.key_ = own(raw);
        k.algorithm_ = algorithm::rsa_sha256;
    } else if (type == "ed25519") {
        if (der->size() != 32)
            return std::string("key record p= is not a 32-byte Ed25519 public key");
        EVP_PKEY* raw =
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(*der), der->size());
        if (!raw)
            return std::string("key record p= is not an Ed25519 public key");
        k.key_ = own(raw);
        k.algorithm_ = algorithm::ed25519_sha256;
    } else {
        return "unknown key type k=" + type;
    }
    k.bits_ = static_cast<unsigned>(EVP_PKEY_get_bits(k.key_.get()));
    return k;
}

bool public_key::verify(std::string_view data, std::string_view signature) const {
    md_ctx ctx;
    if (algorithm_ == algorithm::rsa_sha256) {
        return EVP_DigestVerifyInit(ctx.p, nullptr, detail::sha256_md(), nullptr, key_.get()) ==
                   1 &&
               EVP_DigestVerify(
                   ctx.p, bytes(signature), signature.size(), bytes(data), data.size()
               ) == 1;
    }
    auto h = sha256(data);
    return EVP_DigestVerifyInit(ctx.p, nullptr, nullptr, nullptr, key_.get()) == 1 &&
           EVP_DigestVerify(ctx.p, bytes(signature), signature.size(), h.data(), h.size()) == 1;
}

}  // namespace outpost::dkim
