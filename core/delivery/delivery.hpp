// Delivering one message to one destination: connect to its MX hosts in order and drive
// smtp::client over TCP (and TLS after STARTTLS) until every recipient has a result.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "core/dns/resolver.hpp"
#include "core/smtp/client.hpp"
#include "core/smtp/envelope.hpp"

namespace outpost::delivery {

class connection_cache;

// How long a parked connection waits, and how many may wait: per scope (the throttle key, up to
// its connection limit; a batch takes an idle one before it opens another), and in all.
struct connection_cache_terms {
    std::chrono::milliseconds idle{std::chrono::seconds(2)};
    std::string scope;
    std::size_t per_scope = 5;
    std::size_t total = 200;
};

enum class tls_policy {
    none,           // never STARTTLS
    opportunistic,  // STARTTLS when offered; in the clear when not, or when the handshake fails
    required,       // STARTTLS or no delivery (the recipients stay transient)
    // STARTTLS with a certificate that chains to a trusted CA and is valid for the MX host name
    // (MTA-STS enforce, RFC 8461 §4.2), or no delivery. tls_context must verify peers.
    verify
};

const char* to_string(tls_policy p);

// Read and write deadlines. The SMTP ones are RFC 5321 §4.5.3.2's minimums.
struct timeouts {
    std::chrono::milliseconds connect{std::chrono::seconds(30)};
    std::chrono::milliseconds greeting{std::chrono::minutes(5)};  // initial 220
    std::chrono::milliseconds command{std::chrono::minutes(5)};   // EHLO, MAIL, RCPT, RSET
    std::chrono::milliseconds tls_handshake{std::chrono::minutes(1)};
    std::chrono::milliseconds data_start{std::chrono::minutes(2)};  // DATA's 354
    std::chrono::milliseconds data_block{std::chrono::minutes(3)};  // each write of the body
    std::chrono::milliseconds data_end{std::chrono::minutes(10)};   // the reply to the dot
    std::chrono::milliseconds quit{std::chrono::seconds(10)};       // QUIT's reply, best effort
};

struct delivery_result;
struct attempt;

// One address to try: the MX host's name (for SNI and logs) and where to connect.
struct target {
    std::string host;
    boost::asio::ip::tcp::endpoint endpoint;
    // DNSSEC vouches for the host's name and address: its TLSA records may be looked up.
    bool authenticated = false;
    // DANE (RFC 7672) applies, whatever options::tls says: STARTTLS or no delivery and, when
    // tlsa holds records, a certificate chain that one of them matches (DANE-EE(3) without name
    // checks, DANE-TA(2) with the host name); without records, encrypted but not authenticated.
    bool dane = false;
    std::vector<dns::tlsa_record> tlsa = {};
};

struct options {
    std::string ehlo_name;
    tls_policy tls = tls_policy::opportunistic;
    // Connect from this address ([[source_ip]]); targets of the other IP family are skipped.
    std::optional<boost::asio::ip::address> source;
    timeouts limits;
    // Messages sent over one connection before it is closed and another opened.
    std::size_t max_messages_per_connection = 100;
    // Used for STARTTLS; null: a client context that does not verify certificates (RFC 7435
    // opportunistic security; "required" means encrypted, not authenticated). With verify, a
    // context that verifies peers (tlspolicy::verifying_context): the host name is checked here.
    std::shared_ptr<boost::asio::ssl::context> tls_context;
    // Check the certificate as verify does, without acting on the result: attempt::tls_failure
    // says what was wrong (MTA-STS testing). Needs a tls_context with trusted CAs.
    bool check_certificate = false;
    // Called once for each connection tried, when it ends (for TLS-RPT's session counts).
    std::function<void(const attempt&)> on_connection;
    // Called when a message's transaction is decided, before the next one starts on the
    // connection: the caller makes the results durable here, so that a crash later in the batch
    // never sends an accepted message again. index is the message's position in the batch.
    std::function<boost::asio::awaitable<void>(std::size_t index, const delivery_result& result)>
        on_decided;
    // Where a connection waits, idle, for the next delivery to the same server on the same terms
    // when it carried all it was given (not under DANE or MTA-STS testing, which count TLS
    // sessions); a parked one is used before connecting. Null: QUIT at once. Must outlive the
    // call.
    connection_cache* cache = nullptr;
    connection_cache_terms parking;
    // With on_connection set, parked connections serve only calls of the same scope.
    std::string cache_scope;
};

// The message: envelope and bytes. content is the message as spooled (CRLF lines, not
// dot-stuffed); the buffers must stay valid until deliver() returns.
struct message {
    std::string mail_from;  // reverse-path without brackets; empty for the null sender
    std::vector<smtp::recipient> recipients;  // with their DSN parameters (NOTIFY, ORCPT)
    smtp::body_type body = smtp::body_type::unspecified;
    bool smtputf8 = false;
    smtp::dsn_ret ret = smtp::dsn_ret::unspecified;
    std::string envid;
    std::vector<boost::asio::const_buffer> content;
};

// One connection tried, for logs and `queue show`.
struct attempt {
    std::string host;
    std::string address;  // "192.0.2.1:25"
    std::string tls;      // "TLSv1.3 TLS_AES_256_GCM_SHA384", empty in the clear
    std::string result;   // "delivered", "connect: Connection refused", "greeting: 421 ..."
    // A TLS check that failed on this connection, as RFC 8460 names it (certificate-host-mismatch,
    // certificate-expired, certificate-not-trusted, validation-failure, starttls-not-supported),
    // and in words; empty when none failed or none was made.
    std::string tls_failure_type;
    std::string tls_failure;
    // With verify or check_certificate: a TLS session as RFC 8460 counts them (successful when
    // tls_failure_type is empty), rather than a connection that failed before STARTTLS.
    bool tls_session = false;
};

struct delivery_result {
    // One per recipient, in envelope order. Never empty for a message with recipients.
    std::vector<smtp::recipient_result> recipients;
    std::vector<attempt> attempts;
    // The connection that decided the results: its host, address and TLS; empty when no
    // server got as far as a transaction.
    std::string host;
    std::string address;
    std::string tls;
    // The peer name the certificate was verified for (verify, MTA-STS enforce, DANE); empty
    // when it was not verified.
    std::string verified_peer;
    // When no server decided the recipients: the last reply a server refused the connection with
    // (a 421 greeting, a 4xx to EHLO or MAIL), so that a "slow down" is seen behind the 4.4.1.
    std::optional<smtp::reply> refusal;
};

// Tries targets in order (the caller orders them: MX preference, then addresses). The next
// target is tried when a connection cannot be made or breaks before the transaction, when the
// greeting, EHLO/HELO or STARTTLS answer 4xx, or when TLS is required and the server does not
// offer it; the first server that gets as far as MAIL decides the recipients' results (a 4xx
// there means "later", not "elsewhere", as RFC 5321 §5.1 has it). A 5xx greeting or HELO is
// permanent for every recipient. When every target fails, every recipient is transient
// (4.4.1) with the last failure. With opportunistic TLS, a failed handshake is retried once in
// the clear on the same target. Never throws for network or protocol failures.
boost::asio::awaitable<delivery_result> deliver(
    boost::asio::any_io_executor ex, std::vector<target> targets, options opts, message msg
);

// The same for several messages to one destination, over as few connections as the limits
// allow: each connection carries pending messages in order (RSET between failed transactions)
// up to options::max_messages_per_connection, and a connection that ended after carrying some
// is opened again for the rest. One result per message, in order.
boost::asio::awaitable<std::vector<delivery_result>> deliver(
    boost::asio::any_io_executor ex,
    std::vector<target> targets,
    options opts,
    std::vector<message> messages
);

}  // namespace outpost::delivery
