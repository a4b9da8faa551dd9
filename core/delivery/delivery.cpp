// deliver(): the I/O around smtp::client. One coroutine per message; the loop only performs the
// client's actions, and the client owns all protocol state.
#include "core/delivery/delivery.hpp"

#include <algorithm>
#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/delivery/connection_cache.hpp"
#include "core/util/log.hpp"

namespace outpost::delivery {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using ms = std::chrono::milliseconds;

constexpr auto token = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_reply_line = 8192;  // RFC 5321 §4.5.3.1.5 says 512; be lenient
constexpr std::size_t body_chunk = 64 * 1024;

const char* stage_name(smtp::client_stage s) {
    switch (s) {
        case smtp::client_stage::greeting:
            return "greeting";
        case smtp::client_stage::ehlo:
            return "ehlo";
        case smtp::client_stage::helo:
            return "helo";
        case smtp::client_stage::starttls:
            return "starttls";
        case smtp::client_stage::mail:
            return "mail";
        case smtp::client_stage::rcpt:
            return "rcpt";
        case smtp::client_stage::data:
            return "data";
        case smtp::client_stage::data_end:
            return "data end";
        case smtp::client_stage::rset:
            return "rset";
        case smtp::client_stage::quit:
            return "quit";
        case smtp::client_stage::none:
            return "connection";
    }
    return "connection";
}

ms read_timeout(smtp::client_stage s, const timeouts& t) {
    switch (s) {
        case smtp::client_stage::greeting:
            return t.greeting;
        case smtp::client_stage::data:
            return t.data_start;
        case smtp::client_stage::data_end:
            return t.data_end;
        case smtp::client_stage::quit:
            return t.quit;
        default:
            return t.command;
    }
}

// RFC 8460 §4.3's result type for an X.509 verification error.
const char* certificate_failure_type(long x509_error) {
    switch (x509_error) {
        case X509_V_ERR_HOSTNAME_MISMATCH:
            return "certificate-host-mismatch";
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return "certificate-expired";
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return "certificate-not-trusted";
        default:
            return "validation-failure";
    }
}

std::string describe(const boost::system::error_code& ec) {
    if (ec == beast::error::timeout)
        return "timeout";
    if (ec == asio::error::eof)
        return "connection closed by the server";
    return ec.message();
}

// Printable ASCII only, so a hostile reply cannot garble logs.
std::string printable(std::string_view s) {
    std::string out;
    for (char ch : s.substr(0, 200))
        out += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
    return out;
}

// The connection's protocol state and what it produced.
struct connection {
    smtp::client client;
    smtp::reply_reader reader;
    std::string unread;  // bytes received and not yet read as reply lines
    const options& opts;
    const message* msg = nullptr;  // the transaction's message
    std::vector<smtp::recipient_result> results;
    bool decided = false;  // a transaction ended: results holds its outcome
    std::string tls;
    std::string verified_peer = {};  // the name the certificate was checked for, when it was
    bool keep = false;               // idle after its last message: parked, not QUIT
};

template <class Stream>
asio::awaitable<bool> write(Stream& s, asio::const_buffer b, ms limit, std::string& error) {
    beast::get_lowest_layer(s).expires_after(limit);
    auto [ec, n] = co_await asio::async_write(s, b, token);
    if (ec) {
        error = "write: " + describe(ec);
        co_return false;
    }
    co_return true;
}

template <class Stream>
asio::awaitable<std::optional<smtp::reply>> read_reply(
    Stream& s, connection& c, ms limit, std::string& error
) {
    std::array<char, 4096> chunk{};
    while (true) {
        auto eol = c.unread.find("\r\n");
        if (eol != std::string::npos) {
            std::string line = c.unread.substr(0, eol);
            c.unread.erase(0, eol + 2);
            switch (c.reader.feed(line)) {
                case smtp::reply_reader::status::complete:
                    co_return c.reader.take();
                case smtp::reply_reader::status::malformed:
                    error = "malformed reply \"" + printable(line) + "\"";
                    co_return std::nullopt;
                case smtp::reply_reader::status::more:
                    continue;
            }
        }
        if (c.unread.size() > max_reply_line) {
            error = "reply line too long";
            co_return std::nullopt;
        }
        beast::get_lowest_layer(s).expires_after(limit);
        auto [ec, n] = co_await s.async_read_some(asio::buffer(chunk), token);
        if (ec) {
            error = describe(ec);
            co_return std::nullopt;
        }
        c.unread.append(chunk.data(), n);
    }
}

// The message, dot-stuffed, then the terminating dot; each write has the data block deadline.
template <class Stream>
asio::awaitable<bool> write_body(Stream& s, connection& c, std::string& error) {
    smtp::dot_stuffer stuffer;
    std::string out;
    for (const auto& b : c.msg->content) {
        std::string_view bytes(static_cast<const char*>(b.data()), b.size());
        while (!bytes.empty()) {
            auto piece = bytes.substr(0, body_chunk);
            bytes.remove_prefix(piece.size());
            stuffer.put(piece, out);
            if (out.size() >= body_chunk) {
                if (!co_await write(s, asio::buffer(out), c.opts.limits.data_block, error))
                    co_return false;
                out.clear();
            }
        }
    }
    stuffer.finish(out);
    co_return co_await write(s, asio::buffer(out), c.opts.limits.data_block, error);
}

enum class step { need_tls, idle, closed };

// Performs actions, then reads replies and performs what the client makes of them, until the
// client is idle, closed, or wants TLS.
template <class Stream>
asio::awaitable<step> run(Stream& s, connection& c, std::vector<smtp::client::action> actions) {
    std::size_t next = 0;
    while (true) {
        if (next == actions.size()) {
            if (c.client.closed())
                co_return step::closed;
            auto stage = c.client.waiting_for();
            if (stage == smtp::client_stage::none)
                co_return c.client.idle() ? step::idle : step::closed;
            std::string error;
            auto r = co_await read_reply(s, c, read_timeout(stage, c.opts.limits), error);
            actions =
                r ? c.client.on_reply(*r)
                  : c.client.on_connection_lost(fmt::format("{}: {}", stage_name(stage), error));
            next = 0;
            continue;
        }
        auto a = std::move(actions[next++]);
        std::string error;
        bool ok = true;
        if (auto* send = std::get_if<smtp::client::send>(&a)) {
            ok = co_await write(s, asio::buffer(send->bytes), c.opts.limits.command, error);
        } else if (std::holds_alternative<smtp::client::send_body>(a)) {
            ok = co_await write_body(s, c, error);
        } else if (std::holds_alternative<smtp::client::start_tls>(a)) {
            co_return step::need_tls;
        } else if (auto* done = std::get_if<smtp::client::transaction_done>(&a)) {
            c.results = std::move(done->results);
            c.decided = true;
        } else if (std::holds_alternative<smtp::client::close>(a)) {
            co_return step::closed;
        }
        if (!ok) {
            actions = c.client.on_connection_lost(error);
            next = 0;
        }
    }
}

smtp::outbound_message outbound(const message& m) {
    smtp::outbound_message out;
    out.reverse_path = m.mail_from;
    out.recipients = m.recipients;
    out.body = m.body;
    out.smtputf8 = m.smtputf8;
    out.ret = m.ret;
    out.envid = m.envid;
    for (const auto& b : m.content)
        out.size += b.size();
    return out;
}

// The messages of one delivery call and what has become of them.
struct batch {
    const std::vector<message>& messages;
    std::vector<delivery_result>& results;
    std::vector<bool> done;
    std::size_t remaining = 0;
    std::optional<smtp::reply> refusal;  // the last server reply that ended a connection early
};

std::string summary(const std::vector<smtp::recipient_result>& results) {
    std::size_t counts[3] = {0, 0, 0};
    for (const auto& r : results)
        ++counts[static_cast<int>(r.outcome)];
    return fmt::format(
        "transaction: {} delivered, {} transient, {} permanent", counts[0], counts[1], counts[2]
    );
}

// From an idle client: one transaction per pending message, in order, up to the per-connection
// limit and while the connection lasts; then QUIT, or (may_park, every message decided, room for
// more) c.keep. Returns how many messages it decided.
template <class Stream>
asio::awaitable<std::size_t> transact(
    Stream& s, connection& c, step st, batch& b, const target& t, const attempt& at, bool may_park
) {
    std::size_t decided = 0;
    for (std::size_t i = 0; i < b.messages.size() && st == step::idle; ++i) {
        if (b.done[i])
            continue;
        if (c.client.messages_sent() >=
            std::max<std::size_t>(1, c.opts.max_messages_per_connection))
            break;
        c.msg = &b.messages[i];
        c.decided = false;
        st = co_await run(s, c, c.client.start(outbound(*c.msg)));
        if (!c.decided)
            break;
        auto& out = b.results[i];
        out.attempts.push_back(at);
        out.attempts.back().tls = c.tls;
        out.attempts.back().result = summary(c.results);
        out.recipients = std::move(c.results);
        out.host = t.host;
        out.address = at.address;
        out.tls = c.tls;
        out.verified_peer = c.verified_peer;
        b.done[i] = true;
        --b.remaining;
        ++decided;
        if (c.opts.on_decided)
            co_await c.opts.on_decided(i, out);
    }
    bool room =
        c.client.messages_sent() < std::max<std::size_t>(1, c.opts.max_messages_per_connection);
    c.keep = st == step::idle && may_park && b.remaining == 0 && room && c.unread.empty() &&
             nothing_buffered(s);
    if (st == step::idle && !c.keep)
        co_await run(s, c, c.client.quit());
    co_return decided;
}

std::string address_text(const asio::ip::tcp::endpoint& e) {
    return e.address().is_v6() ? fmt::format("[{}]:{}", e.address().to_string(), e.port())
                               : fmt::format("{}:{}", e.address().to_string(), e.port());
}

// The terms a connection was made on: a parked one is reused only under the same. Empty (never
// parked): without a cache, under DANE, and under MTA-STS testing. When TLS sessions are counted
// (on_connection, for TLS-RPT), only within the same scope (the destination they count for).
std::string cache_key(const target& t, const options& o) {
    if (!o.cache || o.parking.idle.count() <= 0 || t.dane || o.check_certificate)
        return {};
    return fmt::format(
        "{}|{}|{}|{}|{}|{}|{}", t.host, address_text(t.endpoint),
        o.source ? o.source->to_string() : "", to_string(o.tls), fmt::ptr(o.tls_context.get()),
        o.ehlo_name, o.on_connection ? o.cache_scope : ""
    );
}

template <class Stream>
void park(
    const options& opts,
    const std::string& key,
    Stream&& s,
    connection& c,
    std::chrono::steady_clock::time_point opened
) {
    opts.cache->park(
        key,
        std::make_unique<parked_connection>(parked_connection{
            std::forward<Stream>(s), std::move(c.client), c.tls, c.verified_peer, opened}),
        opts.parking
    );
}

// A NOOP answered 250 on a parked connection: the server still holds the session. Without it,
// a server that ended the idle session just now (closed, or a 421 on its idle timeout) would
// be answering the next MAIL, and its messages would be deferred instead of sent afresh.
// Its own short deadline (Postfix's smtp_rset_timeout is 20s): a server that hangs here costs
// little before the batch connects afresh.
template <class Stream>
asio::awaitable<bool> still_there(Stream& s, connection& c, std::string& error) {
    static constexpr std::string_view noop = "NOOP\r\n";
    constexpr auto noop_timeout = std::chrono::seconds(10);
    auto limit = std::min<ms>(c.opts.limits.command, noop_timeout);
    if (!co_await write(s, asio::buffer(noop), limit, error))
        co_return false;
    auto r = co_await read_reply(s, c, limit, error);
    if (!r)
        co_return false;
    if (r->code != 250)
        error = r->summary();
    else if (!c.unread.empty())
        error = "more than the reply to NOOP";
    co_return error.empty();
}

template <class Stream>
asio::awaitable<std::optional<std::size_t>> reuse_over(
    Stream& s,
    parked_connection& p,
    const target& t,
    const options& opts,
    batch& b,
    const std::string& key
) {
    attempt at{t.host, address_text(t.endpoint), p.tls, {}, {}, {}, false};
    connection c{std::move(p.client), smtp::reply_reader{}, {}, opts, nullptr, {}, false, p.tls,
                 p.verified_peer};
    std::string error;
    std::size_t decided = 0;
    bool answered = co_await still_there(s, c, error);
    if (answered) {
        decided = co_await transact(s, c, step::idle, b, t, at, true);
        if (c.keep)
            park(opts, key, std::move(s), c, p.opened);
    } else {
        beast::get_lowest_layer(s).close();
    }
    log::debug(
        "delivery_attempt", {{"mx", at.host},
                             {"address", at.address},
                             {"tls", at.tls},
                             {"reused", "yes"},
                             {"decided", decided},
                             {"result", error.empty() ? "ok" : "noop: " + error}}
    );
    if (!answered)
        co_return std::nullopt;
    co_return decided;
}

// The batch's pending messages over a parked connection to t: how many it decided, or nothing
// when it did not answer NOOP (the caller connects afresh).
asio::awaitable<std::optional<std::size_t>> reuse(
    std::unique_ptr<parked_connection> p,
    const target& t,
    const options& opts,
    batch& b,
    const std::string& key
) {
    if (auto* plain = std::get_if<beast::tcp_stream>(&p->stream))
        co_return co_await reuse_over(*plain, *p, t, opts, b, key);
    auto& tls = std::get<parked_connection::tls_stream>(p->stream);
    co_return co_await reuse_over(tls, *p, t, opts, b, key);
}

// The client context for DANE connections: OpenSSL's DANE matching needs it enabled on the
// context before any connection is made from it. One for the process.
std::shared_ptr<asio::ssl::context> dane_context() {
    static const auto ctx = [] {
        auto c = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
        if (SSL_CTX_dane_enable(c->native_handle()) <= 0)
            throw std::runtime_error("OpenSSL: cannot enable DANE on a TLS context");
        return c;
    }();
    return ctx;
}

// A name that cannot be set fails every certificate, rather than none.
int refuse_all(int, X509_STORE_CTX*) {
    return 0;
}

// RFC 8461 §4.2: valid for the MX host name; a wildcard only as the whole leftmost label (RFC
// 6125). Only verify stops at a failure; a check notes it.
void expect_certificate_for(SSL* ssl, const std::string& host, bool verifying) {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    bool named = SSL_set1_host(ssl, host.c_str()) == 1;
    SSL_set_verify(
        ssl, verifying ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, named ? nullptr : refuse_all
    );
}

// RFC 7672 §3: the chain must match one of the host's TLSA records; DANE-EE(3) without name
// checks (§3.1.1), DANE-TA(2) for the MX host name (§3.2.2). Returns whether the handshake is to
// be authenticated: false when no record is usable (OpenSSL refused them all), as §2.2 says:
// encrypted, not authenticated.
bool expect_tlsa_match(SSL* ssl, const target& t) {
    if (t.tlsa.empty())
        return false;
    if (SSL_dane_enable(ssl, t.host.c_str()) <= 0) {
        SSL_set_verify(ssl, SSL_VERIFY_PEER, refuse_all);
        return true;
    }
    SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int usable = 0;
    for (const auto& r : t.tlsa)
        if (SSL_dane_tlsa_add(
                ssl, r.usage, r.selector, r.matching_type, r.data.data(), r.data.size()
            ) > 0)
            ++usable;
    SSL_set_verify(ssl, usable > 0 ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    return usable > 0;
}

std::string tls_description(SSL* ssl) {
    return fmt::format("{} {}", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}

enum class verdict {
    progress,    // at least one message was decided on this connection
    next,        // nothing decided: try the next target
    tls_failed,  // the handshake failed: with opportunistic TLS, retry in the clear
};

// One connection to t carrying as many of the batch's pending messages as it can. at is filled
// in for the pending messages that this connection did not decide.
asio::awaitable<verdict> try_target(
    asio::any_io_executor ex,
    const target& t,
    const options& opts,
    batch& b,
    bool allow_tls,
    attempt& at,
    const std::string& key  // where to park it afterwards; empty: QUIT
) {
    auto opened = std::chrono::steady_clock::now();
    beast::tcp_stream stream(ex);
    if (opts.source) {
        if (opts.source->is_v4() != t.endpoint.address().is_v4()) {
            at.result = "skipped: the source address is of the other IP family";
            co_return verdict::next;
        }
        boost::system::error_code ec;
        auto& socket = stream.socket();
        socket.open(t.endpoint.protocol(), ec);
        if (!ec)
            socket.bind(asio::ip::tcp::endpoint(*opts.source, 0), ec);
        if (ec) {
            at.result = "bind " + opts.source->to_string() + ": " + ec.message();
            co_return verdict::next;
        }
    }
    stream.expires_after(opts.limits.connect);
    if (auto [ec] = co_await stream.async_connect(t.endpoint, token); ec) {
        at.result = "connect: " + describe(ec);
        co_return verdict::next;
    }

    // DANE (a target with secure TLSA records) overrides the configured policy: TLS is
    // mandatory, and with usable records so is a certificate they match. Without usable ones
    // (encrypt-only) the configured check still applies (MTA-STS enforce: a verified name).
    bool dane_auth = t.dane && !t.tlsa.empty();
    bool verifying = opts.tls == tls_policy::verify || dane_auth;
    bool name_check = opts.tls == tls_policy::verify || opts.check_certificate;
    bool checking = verifying || opts.check_certificate || t.dane;
    smtp::client_options co;
    co.ehlo_domain = opts.ehlo_name;
    co.starttls = (allow_tls && opts.tls != tls_policy::none) || t.dane;
    co.require_tls = opts.tls == tls_policy::required || opts.tls == tls_policy::verify || t.dane;
    connection c{smtp::client(co), smtp::reply_reader{}, {}, opts, nullptr, {}, false, {}};

    auto st = co_await run(stream, c, {});
    bool handshake_failed = false;
    std::size_t decided = 0;
    if (st == step::need_tls) {
        auto ctx = dane_auth ? dane_context() : opts.tls_context;
        if (!ctx) {
            ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
            ctx->set_verify_mode(asio::ssl::verify_none);
        }
        asio::ssl::stream<beast::tcp_stream> tls(std::move(stream), *ctx);
        // SNI with the MX name, as servers with several certificates expect.
        // (SSL_set_tlsext_host_name is a macro with a C cast.)
        SSL_ctrl(
            tls.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
            const_cast<char*>(t.host.c_str())
        );
        if (dane_auth)
            verifying = expect_tlsa_match(tls.native_handle(), t);
        else if (name_check)
            expect_certificate_for(tls.native_handle(), t.host, verifying);
        beast::get_lowest_layer(tls).expires_after(opts.limits.tls_handshake);
        auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::client, token);
        auto verified =
            verifying || name_check ? SSL_get_verify_result(tls.native_handle()) : X509_V_OK;
        if (verified != X509_V_OK && dane_auth) {
            at.tls_failure_type = "tlsa-invalid";
            at.tls_failure = fmt::format(
                "DANE: no TLSA record of {} matches its certificate: {}", t.host,
                X509_verify_cert_error_string(verified)
            );
        } else if (verified != X509_V_OK) {
            at.tls_failure_type = certificate_failure_type(verified);
            at.tls_failure = fmt::format(
                "certificate of {} not valid: {}", t.host, X509_verify_cert_error_string(verified)
            );
        }
        if (ec && verified != X509_V_OK) {
            handshake_failed = true;
            c.client.on_connection_lost("TLS handshake: " + at.tls_failure);
        } else if (ec) {
            handshake_failed = true;
            c.client.on_connection_lost("TLS handshake: " + describe(ec));
            if (checking) {
                at.tls_failure_type = "validation-failure";
                at.tls_failure = "TLS handshake: " + describe(ec);
            }
        } else {
            // Bytes the server sent in the clear after its 220 must never be read as replies
            // over TLS (the STARTTLS injection bug class, RFC 3207 §4.2, CVE-2011-0411).
            c.unread.clear();
            c.reader = smtp::reply_reader{};
            c.tls = at.tls = tls_description(tls.native_handle());
            if (verifying) {
                // DANE-EE(3) matches without a name check: then the MX host name stands.
                const char* peer = SSL_get0_peername(tls.native_handle());
                c.verified_peer = peer ? peer : t.host;
            }
            st = co_await run(tls, c, c.client.on_tls_started());
            decided = co_await transact(tls, c, st, b, t, at, !key.empty());
            if (c.keep)
                park(opts, key, std::move(tls), c, opened);
        }
    } else {
        decided = co_await transact(stream, c, st, b, t, at, !key.empty());
        if (c.keep)
            park(opts, key, std::move(stream), c, opened);
    }
    if (c.keep)
        c.client = smtp::client(co);  // parked: what follows reads an idle session's state

    const auto& failure = c.client.failure();
    // Under a policy, what TLS-RPT counts as a session: a handshake made or failed, or no
    // STARTTLS where it was wanted (refused under verify, mail in the clear under a check). A
    // retry in the clear after a failed handshake is not one; the failure was.
    bool no_starttls =
        allow_tls && (opts.tls != tls_policy::none || t.dane) && c.tls.empty() &&
        !handshake_failed &&
        ((failure && failure->stage == smtp::client_stage::starttls) || (decided > 0 && checking));
    if (checking && no_starttls && at.tls_failure_type.empty()) {
        at.tls_failure_type = "starttls-not-supported";
        at.tls_failure = fmt::format("{} does not offer STARTTLS", t.host);
    }
    at.tls_session = checking && (!at.tls_failure_type.empty() || !c.tls.empty());
    if (decided > 0) {
        at.result = b.remaining == 0 ? "" : "not sent: the connection ended before its turn";
        co_return verdict::progress;
    }
    smtp::reply why =
        failure ? failure->response : smtp::reply{451, "4.4.2", "connection lost", true};
    at.result = fmt::format(
        "{}: {}", stage_name(failure ? failure->stage : smtp::client_stage::none), why.summary()
    );
    if (failure && failure->stage != smtp::client_stage::none)
        b.refusal = why;
    if (handshake_failed)
        co_return verdict::tls_failed;
    // A 5xx greeting or HELO refusal is the server's final word about us.
    if (failure && why.permanent() && failure->stage != smtp::client_stage::starttls) {
        for (std::size_t i = 0; i < b.messages.size(); ++i) {
            if (b.done[i])
                continue;
            auto& out = b.results[i];
            for (const auto& rc : b.messages[i].recipients)
                out.recipients.push_back({rc.address, smtp::rcpt_outcome::permanent, why});
            out.attempts.push_back(at);
            out.host = t.host;
            out.address = at.address;
            b.done[i] = true;
            --b.remaining;
        }
        co_return verdict::progress;
    }
    co_return verdict::next;
}

}  // namespace

const char* to_string(tls_policy p) {
    switch (p) {
        case tls_policy::none:
            return "none";
        case tls_policy::opportunistic:
            return "opportunistic";
        case tls_policy::required:
            return "required";
        case tls_policy::verify:
            return "verify";
    }
    return "opportunistic";
}

asio::awaitable<std::vector<delivery_result>> deliver(
    asio::any_io_executor ex,
    std::vector<target> targets,
    options opts,
    std::vector<message> messages
) {
    std::vector<delivery_result> results(messages.size());
    batch b{messages, results, std::vector<bool>(messages.size(), false), 0, std::nullopt};
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (messages[i].recipients.empty())
            b.done[i] = true;
        else
            ++b.remaining;
    }
    // A connection an earlier delivery left idle to any of the targets first (no connect, EHLO
    // or STARTTLS), before opening one more: the receiver sees no more connections than before.
    for (const auto& t : targets) {
        auto key = cache_key(t, opts);
        while (!key.empty() && b.remaining > 0) {
            auto parked = opts.cache->take(key);
            if (!parked)
                break;
            auto decided = co_await reuse(std::move(parked), t, opts, b, key);
            if (!decided)
                break;  // the others parked with it would likely not answer either
        }
    }
    std::string last_failure;
    for (std::size_t ti = 0; ti < targets.size() && b.remaining > 0;) {
        const auto& t = targets[ti];
        auto key = cache_key(t, opts);
        bool allow_tls = true;
        verdict v = verdict::next;
        while (b.remaining > 0) {
            std::vector<bool> pending_before = b.done;
            attempt at{t.host, address_text(t.endpoint), {}, {}, {}, {}, false};
            // The clear after a failed handshake is never parked: the next delivery tries TLS.
            std::string park_key = allow_tls ? key : std::string();
            v = co_await try_target(ex, t, opts, b, allow_tls, at, park_key);
            if (opts.on_connection)
                opts.on_connection(at);
            log::debug(
                "delivery_attempt", {{"mx", at.host},
                                     {"address", at.address},
                                     {"tls", at.tls},
                                     {"result", at.result.empty() ? "all decided" : at.result}}
            );
            // The messages this connection did not decide keep the attempt and why.
            for (std::size_t i = 0; i < messages.size(); ++i) {
                if (!pending_before[i] && !b.done[i])
                    results[i].attempts.push_back(at);
            }
            if (!at.result.empty())
                last_failure = at.result;
            if (v == verdict::tls_failed && opts.tls == tls_policy::opportunistic && allow_tls &&
                !targets[ti].dane) {
                allow_tls = false;  // RFC 7435 §6: opportunistic means fall back to the clear
                continue;
            }
            // A connection that carried messages and then ended (the server's per-connection
            // limit, an idle timeout) is opened again for the rest: progress is guaranteed.
            if (v == verdict::progress)
                continue;
            break;
        }
        ++ti;
    }
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (b.done[i])
            continue;
        smtp::reply why =
            targets.empty()
                ? smtp::reply{451, "4.4.4", "no address to deliver to", true}
                : smtp::reply{
                      451, "4.4.1", "no MX host took the message; last: " + last_failure, true};
        for (const auto& rc : messages[i].recipients)
            results[i].recipients.push_back({rc.address, smtp::rcpt_outcome::transient, why});
        results[i].refusal = b.refusal;
    }
    co_return results;
}

asio::awaitable<delivery_result> deliver(
    asio::any_io_executor ex, std::vector<target> targets, options opts, message msg
) {
    std::vector<message> one;
    one.push_back(std::move(msg));
    auto results =
        co_await deliver(std::move(ex), std::move(targets), std::move(opts), std::move(one));
    co_return std::move(results.front());
}

}  // namespace outpost::delivery
