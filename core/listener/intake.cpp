#include "core/listener/intake.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "core/listener/priority.hpp"
#include "core/message/header.hpp"
#include "core/spool/fresh.hpp"
#include "core/spool/queue_id.hpp"
#include "core/spool/record.hpp"
#include "core/spool/space.hpp"
#include "core/util/log.hpp"
#include "core/util/metrics.hpp"
#include "core/util/offload.hpp"
#include "core/util/text.hpp"

namespace outpost::listener {

std::string trace_prefix(
    const intake_settings& s,
    std::string_view queue_id,
    const smtp::envelope& env,
    std::string_view original,
    std::int64_t now
) {
    std::string out;
    out.reserve(320);
    // RFC 5321 §4.4: from the HELO name and the client's address, by us, with the protocol.
    auto v6 = env.client_address.find(':') != std::string::npos;
    out += fmt::format(
        "Received: from {} ([{}{}])\r\n\tby {} (Outpost) with {} id {}", env.helo,
        v6 ? "IPv6:" : "", env.client_address, s.hostname, env.protocol, queue_id
    );
    if (!env.tls.empty())
        out += fmt::format("\r\n\t(using {})", env.tls);
    // "for" only with one recipient: with more it would disclose the others' addresses.
    if (env.recipients.size() == 1)
        out += fmt::format("\r\n\tfor <{}>", env.recipients.front().address);
    out += fmt::format("; {}\r\n", util::rfc5322_date(now));

    auto header = message::parse_header(original);
    if (!message::find_first(header.fields, "date"))
        out += fmt::format("Date: {}\r\n", util::rfc5322_date(now));
    if (!message::find_first(header.fields, "message-id"))
        out += fmt::format("Message-ID: <{}@{}>\r\n", queue_id, s.hostname);
    return out;
}

namespace {
// Only this much of a returning bounce is read: what the classifier needs is at the top (the
// report, the returned headers), and the event loop is not held up by a huge one.
constexpr std::size_t max_bounce_read = 512 * 1024;

// Tags go into every event of the message and on to webhooks: a few, short, printable.
constexpr std::size_t max_tags = 10;
constexpr std::size_t max_tag_length = 128;

std::vector<std::string> event_tags(std::vector<std::string> asked, std::string_view queue_id) {
    std::vector<std::string> tags;
    for (auto& tag : asked) {
        bool printable =
            std::all_of(tag.begin(), tag.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
        if (tag.empty() || !printable || tag.size() > max_tag_length || tags.size() == max_tags) {
            log::warn(
                "tag_ignored", {{"queue_id", queue_id},
                                {"tag", util::printable_ascii(tag.substr(0, max_tag_length))},
                                {"expected", "up to 10 tags of 1-128 printable ASCII characters"}}
            );
            continue;
        }
        tags.push_back(std::move(tag));
    }
    return tags;
}
}  // namespace

intake::intake(
    intake_settings settings, spool::writer& writer, boost::asio::thread_pool& workers, sign_fn sign
)
    : settings_(std::move(settings)), writer_(writer), workers_(workers), sign_(std::move(sign)) {}

boost::asio::awaitable<smtp::message_result> intake::accept(
    smtp::envelope env, std::string content
) {
    using result = smtp::message_result;
    auto id = spool::next_queue_id();
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()
    )
                   .count();
    auto started = std::chrono::steady_clock::now();
    try {
        // Returning bounces (to the VERP domain) are read here and never relayed.
        if (!settings_.bounce_domain.empty() && inbound_) {
            std::vector<std::string> returned;
            std::erase_if(env.recipients, [&](const smtp::recipient& r) {
                auto at = r.address.rfind('@');
                bool ours = at != std::string::npos &&
                            util::iequals(r.address.substr(at + 1), settings_.bounce_domain);
                if (ours)
                    returned.push_back(r.address);
                return ours;
            });
            if (!returned.empty()) {
                auto summary = co_await inbound_(
                    returned, std::string_view(content).substr(0, max_bounce_read)
                );
                if (!summary)
                    co_return result{result::kind::temporary_failure, {}, {}};
                log::info(
                    "bounce_received", {{"id", id},
                                        {"from", env.reverse_path},
                                        {"client", env.client_address},
                                        {"result", *summary}}
                );
                if (env.recipients.empty())
                    co_return result{result::kind::queued, id, {}};
            }
        }
        if (!settings_.report_address.empty() && reports_) {
            auto before = env.recipients.size();
            std::erase_if(env.recipients, [&](const smtp::recipient& r) {
                return util::iequals(r.address, settings_.report_address);
            });
            if (env.recipients.size() != before) {
                auto summary = co_await reports_(id, content);
                if (!summary)
                    co_return result{result::kind::temporary_failure, {}, {}};
                log::info(
                    "dmarc_report_received", {{"id", id},
                                              {"from", env.reverse_path},
                                              {"client", env.client_address},
                                              {"result", *summary}}
                );
                if (env.recipients.empty())
                    co_return result{result::kind::queued, id, {}};
            }
        }
        if (!settings_.priority_header.empty())
            if (auto asked = take_header_field(content, settings_.priority_header)) {
                if (auto p = parse_priority(*asked))
                    env.priority = *p;
                else
                    log::warn(
                        "priority_ignored", {{"queue_id", id},
                                             {"header", settings_.priority_header},
                                             {"value", *asked},
                                             {"expected", "high, normal or low"}}
                    );
            }
        if (!settings_.tag_header.empty())
            env.tags = event_tags(take_header_fields(content, settings_.tag_header), id);
        auto prefix = trace_prefix(settings_, id, env, content, now);
        signing_result signing;
        if (sign_.sign) {
            signing = co_await sign_message(prefix, content, env, now);
            if (!signing.reject.empty()) {
                log::info(
                    "message_rejected",
                    {{"queue_id", id}, {"from", env.reverse_path}, {"reason", signing.reject}}
                );
                co_return result{result::kind::rejected, {}, signing.reject};
            }
        }
        auto size = signing.header_block.size() + prefix.size() + content.size();
        if (storage_low_ && storage_low_(size)) {
            log::warn("spool_reserve_reached", {{"queue_id", id}, {"size", size}});
            co_return result{result::kind::no_space, {}, {}};
        }
        // Before the pieces move into the spool: the Message-ID the events name (the one the
        // trace prefix added when the message had none).
        std::string message_id;
        if (events_) {
            message_id = message::message_id_of(content);
            if (message_id.empty())
                message_id = message::message_id_of(prefix);
        }
        std::vector<std::string> pieces;
        pieces.reserve(4);
        pieces.push_back(spool::format_envelope(id, now, env, size));
        pieces.push_back(std::move(signing.header_block));
        pieces.push_back(std::move(prefix));
        pieces.push_back(std::move(content));
        std::string file;  // for the first delivery, when small enough to be kept
        if (spooled_ && pieces[0].size() + size <= spool::fresh_files::largest) {
            file.reserve(pieces[0].size() + size);
            for (const auto& p : pieces)
                file += p;
        }
        auto [ec] = co_await writer_.async_write(
            id, std::move(pieces), boost::asio::as_tuple(boost::asio::use_awaitable)
        );
        auto ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count();
        if (ec) {
            log::error("spool_write_failed", {{"queue_id", id}, {"error", ec.message()}});
            bool full = spool::disk_full(ec);
            co_return result{
                full ? result::kind::no_space : result::kind::temporary_failure, {}, {}};
        }
        log::info(
            "message_accepted", {{"queue_id", id},
                                 {"from", env.reverse_path},
                                 {"recipients", env.recipients.size()},
                                 {"size", size},
                                 {"client", env.client_address},
                                 {"user", env.auth_user},
                                 {"signing", signing.summary},
                                 {"ms", fmt::format("{:.1f}", ms)}}
        );
        util::metrics().messages_received.add();
        if (events_)
            for (const auto& r : env.recipients) {
                events::event e;
                e.what = events::kind::accepted;
                e.queue_id = id;
                e.message_id = message_id;
                e.auth_user = env.auth_user;
                e.sender = env.reverse_path;
                e.recipient = r.address;
                auto at = r.address.rfind('@');
                e.destination =
                    at == std::string::npos ? "" : util::to_lower(r.address.substr(at + 1));
                e.tags = env.tags;
                events_(std::move(e));
            }
        if (spooled_)
            spooled_(id, env, now, std::move(file));
        co_return result{result::kind::queued, id, {}};
    } catch (const std::exception& e) {
        log::error("intake_failed", {{"queue_id", id}, {"error", e.what()}});
        co_return result{result::kind::temporary_failure, {}, {}};
    }
}

boost::asio::awaitable<signing_result> intake::sign_message(
    const std::string& prefix,
    const std::string& content,
    const smtp::envelope& env,
    std::int64_t now
) {
    txt_table keys;
    if (sign_.key_names && lookup_) {
        auto names = sign_.key_names(prefix, content);
        if (!names.empty())
            keys = co_await lookup_(std::move(names));
    }
    // The message stays in the caller's frame while the worker reads it; the signer is copied,
    // so a reload meanwhile does not pull it away.
    auto sign = sign_.sign;
    auto sign_started = std::chrono::steady_clock::now();
    auto signing =
        co_await util::offload(workers_, [&] { return sign(prefix, content, env, now, keys); });
    util::metrics().signing_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sign_started).count()
    );
    co_return signing;
}

boost::asio::awaitable<signing_result> intake::sign_own(
    const smtp::envelope& env, const std::string& content, std::int64_t now
) {
    if (!sign_.sign) {
        signing_result none;
        none.summary = "unsigned: no [[dkim]] key is configured";
        co_return none;
    }
    co_return co_await sign_message({}, content, env, now);
}

}  // namespace outpost::listener
