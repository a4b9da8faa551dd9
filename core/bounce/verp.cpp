// VERP return paths with truncated HMAC-SHA256 tokens.
#include "core/bounce/verp.hpp"

#include <array>
#include <charconv>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace outpost::bounce {

namespace {

constexpr std::string_view prefix = "b+";
constexpr std::size_t mac_bytes = 10;  // 80 bits
constexpr std::size_t mac_chars = 16;  // base32 of 10 bytes

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = lower(c);
    return out;
}

bool valid_queue_id(std::string_view id) {
    if (id.empty() || id.size() > verp_max_queue_id)
        return false;
    for (char c : id)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    return true;
}

// RFC 4648 base32, lower-case, without padding (10 bytes make exactly 16 characters).
std::string base32(std::span<const unsigned char> bytes) {
    static constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char b : bytes) {
        buffer = (buffer << 8) | b;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out.push_back(alphabet[(buffer >> bits) & 31u]);
        }
    }
    if (bits > 0)
        out.push_back(alphabet[(buffer << (5 - bits)) & 31u]);
    return out;
}

std::optional<std::string> mac_of(
    std::string_view queue_id, std::uint32_t index, std::string_view secret
) {
    auto message = lowered(queue_id) + "." + std::to_string(index);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (!HMAC(
            EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
            &length
        ) ||
        length < mac_bytes)
        return std::nullopt;
    return base32(std::span<const unsigned char>(digest.data(), mac_bytes));
}

}  // namespace

std::optional<std::string> make_return_path(
    std::string_view queue_id,
    std::uint32_t recipient_index,
    std::string_view bounce_domain,
    std::string_view secret
) {
    if (!valid_queue_id(queue_id) || secret.empty() || bounce_domain.empty())
        return std::nullopt;
    auto mac = mac_of(queue_id, recipient_index, secret);
    if (!mac)
        return std::nullopt;
    std::string out(prefix);
    out += queue_id;
    out += '.';
    out += std::to_string(recipient_index);
    out += '.';
    out += *mac;
    out += '@';
    out += lowered(bounce_domain);
    return out;
}

std::optional<verp_token> parse_return_path(
    std::string_view address, std::string_view bounce_domain, std::span<const std::string> secrets
) {
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>')
        address = address.substr(1, address.size() - 2);
    auto at = address.rfind('@');
    if (at == std::string_view::npos || lowered(address.substr(at + 1)) != lowered(bounce_domain))
        return std::nullopt;
    auto local = address.substr(0, at);
    if (local.size() < prefix.size() || lowered(local.substr(0, prefix.size())) != prefix)
        return std::nullopt;
    local.remove_prefix(prefix.size());
    // <queue id>.<index>.<mac>; the queue id has no dots.
    auto first_dot = local.find('.');
    auto last_dot = local.rfind('.');
    if (first_dot == std::string_view::npos || first_dot == last_dot)
        return std::nullopt;
    auto queue_id = local.substr(0, first_dot);
    auto index_text = local.substr(first_dot + 1, last_dot - first_dot - 1);
    auto mac = lowered(local.substr(last_dot + 1));
    if (!valid_queue_id(queue_id) || mac.size() != mac_chars || index_text.empty() ||
        index_text.size() > 10)
        return std::nullopt;
    std::uint32_t index = 0;
    auto [end, ec] =
        std::from_chars(index_text.data(), index_text.data() + index_text.size(), index);
    if (ec != std::errc() || end != index_text.data() + index_text.size())
        return std::nullopt;
    // "007" and "7" would otherwise both verify; only the canonical form was ever made.
    if (std::to_string(index) != index_text)
        return std::nullopt;
    for (const auto& secret : secrets) {
        if (secret.empty())
            continue;
        auto expected = mac_of(queue_id, index, secret);
        if (expected && CRYPTO_memcmp(expected->data(), mac.data(), mac_chars) == 0)
            return verp_token{std::string(queue_id), index};
    }
    return std::nullopt;
}

}  // namespace outpost::bounce
