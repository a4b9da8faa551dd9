// What happens between the client's final "." and the 250: trace fields added, the message signed
// (off the I/O thread), and written to the spool with group commit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/events/event.hpp"
#include "core/smtp/envelope.hpp"
#include "core/smtp/session.hpp"
#include "core/spool/writer.hpp"

namespace outpost::listener {

// What the signing step adds above the message: whole header fields, each ending in CRLF.
struct signing_result {
    std::string header_block;
    std::string summary;  // for the log: "d=example.com signatures=2 arc=i=1" or why not signed
    std::string reject;   // non-empty: refuse the message with 550 5.7.1 and this text
};

// A TXT look-up result for a key record the signer needs (the DKIM signatures and ARC chain a
// message arrives with are verified for ARC-Authentication-Results and the seal's cv=).
struct txt_answer {
    enum class status { found, missing, temporary } state = status::temporary;
    std::vector<std::string> records;
};

using txt_table = std::map<std::string, txt_answer>;

// The signing seam: prefix (fields Outpost adds) and original (the bytes received) are signed as
// one message without being joined. sign runs on a worker thread and must be thread-safe;
// key_names runs on the event loop and names the TXT records sign will want. Empty when signing
// is off.
struct signing_step {
    std::function<std::vector<std::string>(std::string_view prefix, std::string_view original)>
        key_names;
    std::function<signing_result(
        std::string_view prefix,
        std::string_view original,
        const smtp::envelope& env,
        std::int64_t now,
        const txt_table& keys
    )>
        sign;
};

using sign_fn = signing_step;

// Looks up TXT records on the event loop (the daemon's c-ares resolver).
using txt_lookup_fn =
    std::function<boost::asio::awaitable<txt_table>(std::vector<std::string> names)>;

struct intake_settings {
    std::string hostname;       // by HOST in Received:, and the Message-ID domain when one is added
    std::string bounce_domain;  // mail to it is a returning bounce: classified, never relayed
    // Submission header that sets the message's priority; removed before signing. Empty: none.
    std::string priority_header = {};
    // Submission header whose values tag the message's events; removed before signing. Empty:
    // none.
    std::string tag_header = {};
    // [dmarc] report_address: mail to it is a DMARC aggregate report, read and never relayed.
    std::string report_address = {};
};

// Received:, plus Date: and Message-ID: when the message has none (RFC 5321 §4.4, RFC 6854
// practice of submission servers, RFC 6409 §8). Pure.
std::string trace_prefix(
    const intake_settings& s,
    std::string_view queue_id,
    const smtp::envelope& env,
    std::string_view original,
    std::int64_t now
);

class intake {
public:
    intake(
        intake_settings settings,
        spool::writer& writer,
        boost::asio::thread_pool& workers,
        sign_fn sign
    );

    // Never throws: a failure becomes a 4xx result, and the client keeps the message.
    boost::asio::awaitable<smtp::message_result> accept(smtp::envelope env, std::string content);

    void set_signer(sign_fn sign) { sign_ = std::move(sign); }

    // Signs a message Outpost writes itself (a TLS report) as accept() signs a submission, with
    // the keys in force, without spooling it: the header block to put in front of content
    // (empty, with the reason in summary, when nothing signs it).
    boost::asio::awaitable<signing_result> sign_own(
        const smtp::envelope& env, const std::string& content, std::int64_t now
    );

    // Reload: the host name and priority header of messages accepted from now on.
    void set_settings(intake_settings settings) { settings_ = std::move(settings); }

    void set_txt_lookup(txt_lookup_fn lookup) { lookup_ = std::move(lookup); }

    // The spool's reserve: true when storing `bytes` more would go below it (452 4.3.1).
    void set_storage_low(std::function<bool(std::uint64_t bytes)> check) {
        storage_low_ = std::move(check);
    }

    // Called on the event loop after each message is durable (delivery schedules it), with the
    // file's text as written (so the first delivery need not read it back).
    using spooled_fn = std::function<void(
        const std::string& id, const smtp::envelope& env, std::int64_t arrived, std::string file
    )>;

    void on_spooled(spooled_fn fn) { spooled_ = std::move(fn); }

    // Handles a message to the bounce domain (its recipients there, and the bytes); returns a
    // sentence for the log. Runs on the event loop.
    // Returns nullopt when the result could not be recorded (451: the sender tries again).
    using inbound_fn = std::function<boost::asio::awaitable<std::optional<std::string>>(
        const std::vector<std::string>& recipients, std::string_view content
    )>;

    void on_inbound(inbound_fn fn) { inbound_ = std::move(fn); }

    // Handles a message to the DMARC report address (its queue id and bytes); returns a sentence
    // for the log, nullopt when it could not be recorded (451: the sender tries again).
    using report_fn = std::function<boost::asio::awaitable<std::optional<std::string>>(
        const std::string& id, std::string_view content
    )>;

    void on_report(report_fn fn) { reports_ = std::move(fn); }

    // An "accepted" event per recipient of each message made durable.
    void on_event(events::sink fn) { events_ = std::move(fn); }

private:
    boost::asio::awaitable<signing_result> sign_message(
        const std::string& prefix,
        const std::string& content,
        const smtp::envelope& env,
        std::int64_t now
    );

    intake_settings settings_;
    spool::writer& writer_;
    boost::asio::thread_pool& workers_;
    sign_fn sign_;
    txt_lookup_fn lookup_;
    std::function<bool(std::uint64_t)> storage_low_;
    spooled_fn spooled_;
    inbound_fn inbound_;
    events::sink events_;
    report_fn reports_;
};

}  // namespace outpost::listener
