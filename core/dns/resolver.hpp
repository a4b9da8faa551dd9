// The DNS seam: asynchronous MX, A/AAAA, TXT and PTR look-ups. cares_resolver is the real one;
// tests of pure logic use a fake.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

namespace outpost::dns {

enum class status {
    ok,        // records present (may still be empty for a null MX: see mx_record)
    nxdomain,  // the name does not exist: permanent
    nodata,    // the name exists but has no records of that type
    servfail,  // the server failed: temporary
    timeout,   // no answer in time: temporary
    error      // anything else (refused, malformed, ...): temporary
};

const char* to_string(status s);

// An MX record; a null MX (RFC 7505) is preference 0 with host "." (host is stored as "").
struct mx_record {
    std::uint16_t preference = 0;
    std::string host;  // lower case, no trailing dot
};

// A TLSA record (RFC 6698 §2.1): which certificate a TLS server on that name and port presents.
struct tlsa_record {
    std::uint8_t usage = 0;          // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
    std::uint8_t selector = 0;       // 0 the whole certificate, 1 its SubjectPublicKeyInfo
    std::uint8_t matching_type = 0;  // 0 the bytes themselves, 1 SHA-256, 2 SHA-512
    std::vector<std::uint8_t> data;
};

template <class T>
struct answer {
    status result = status::error;
    std::vector<T> records;
    std::chrono::seconds ttl{0};  // smallest TTL of the records (or the SOA minimum for negatives)
    // The resolver said it validated the answer with DNSSEC (the AD bit, RFC 4035 §3.2.3); false
    // for answers that are insecure, or from a resolver that does not validate.
    bool authenticated = false;

    bool ok() const { return result == status::ok; }
};

class resolver {
public:
    virtual ~resolver() = default;

    virtual boost::asio::awaitable<answer<mx_record>> mx(std::string domain) = 0;
    // A and AAAA together; ok when either has records.
    virtual boost::asio::awaitable<answer<boost::asio::ip::address>> address(std::string host) = 0;
    virtual boost::asio::awaitable<answer<boost::asio::ip::address>> a(std::string host) = 0;
    virtual boost::asio::awaitable<answer<boost::asio::ip::address>> aaaa(std::string host) = 0;
    // Each TXT record's character-strings concatenated into one string (RFC 6376 §3.6.2.2).
    virtual boost::asio::awaitable<answer<std::string>> txt(std::string name) = 0;
    virtual boost::asio::awaitable<answer<std::string>> ptr(boost::asio::ip::address ip) = 0;
    // name is the full owner, "_25._tcp.mx.example.com" (RFC 6698 §3).
    virtual boost::asio::awaitable<answer<tlsa_record>> tlsa(std::string name) = 0;

    // Ends every pending look-up with status::error and makes later ones fail at once, so that
    // coroutines waiting on DNS finish promptly at shutdown. Destroying a resolver does the same
    // for the look-ups still pending. The default does nothing (fakes have nothing pending).
    virtual void shutdown() {}

    // Whether answer::authenticated can be true: the resolver's AD bit is believed only from
    // resolvers on this host (loopback), as RFC 7672 §2.1 asks. The default (fakes): false.
    virtual bool trusts_authenticated_data() const { return false; }
};

struct server_address {
    std::string ip;
    std::uint16_t port = 53;
};

struct resolver_options {
    std::vector<server_address> servers;  // empty: the system configuration (/etc/resolv.conf)
    std::chrono::milliseconds timeout{5000};
    int tries = 2;
    bool cache = true;  // keep answers for their TTL
};

// c-ares on the given executor: no blocking calls, no thread per query. Every query asks for the
// AD bit (RFC 6840 §5.7), so a validating resolver says which answers DNSSEC vouches for; the
// answer is believed when every server is on this host (127.0.0.0/8, ::1). The
// executor must not run handlers concurrently (one io_context thread, or a strand). Completions are
// always posted to the awaiting coroutine's executor, never run inside c-ares. Each look-up honours
// cancellation (e.g. `co_await (r.mx(d) || timer.async_wait(use_awaitable))`): it then returns
// status::error at once and c-ares' eventual answer is dropped.
// Throws std::runtime_error when c-ares cannot be set up (bad server address, out of memory).
std::unique_ptr<resolver> make_cares_resolver(
    boost::asio::any_io_executor ex, resolver_options options
);

}  // namespace outpost::dns
