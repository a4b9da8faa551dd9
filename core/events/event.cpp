#include "core/events/event.hpp"

#include <algorithm>
#include <array>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <openssl/rand.h>

#include "core/util/text.hpp"

namespace outpost::events {

namespace json = boost::json;

namespace {

constexpr std::array<std::pair<kind, std::string_view>, 7> names{{
    {kind::accepted, "accepted"},
    {kind::delivered, "delivered"},
    {kind::deferred, "deferred"},
    {kind::bounced, "bounced"},
    {kind::expired, "expired"},
    {kind::suppressed, "suppressed"},
    {kind::complaint, "complaint"},
}};

// Text from the network (a reply in Latin-1, a bounce cut mid-character) as valid UTF-8: each
// byte that does not start a valid sequence becomes U+FFFD. JSON readers (ours included) refuse
// invalid UTF-8, and one bad byte must not lose an event.
std::string clean_utf8(std::string_view s) {
    if (util::valid_utf8(s))
        return std::string(s);
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80           ? 1
                        : (c >> 5) == 0x6  ? 2
                        : (c >> 4) == 0xE  ? 3
                        : (c >> 3) == 0x1E ? 4
                                           : 0;
        if (n && i + n <= s.size() && util::valid_utf8(s.substr(i, n))) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

}  // namespace

std::string_view to_string(kind k) {
    for (const auto& [value, name] : names)
        if (value == k)
            return name;
    return "unknown";
}

std::optional<kind> kind_from(std::string_view text) {
    for (const auto& [value, name] : names)
        if (name == text)
            return value;
    return std::nullopt;
}

std::string new_event_id() {
    // Random bytes are drawn 4 KB at a time: RAND_bytes per event (with its fork check and lock)
    // showed in the event loop's profile under load.
    thread_local std::array<unsigned char, 4096> pool{};
    thread_local std::size_t used = pool.size();
    constexpr std::size_t id_bytes = 16;
    if (used + id_bytes > pool.size()) {
        if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1)
            throw std::runtime_error("no random bytes for an event id");
        used = 0;
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(2 * id_bytes, '0');
    for (std::size_t i = 0; i < id_bytes; ++i) {
        auto b = pool[used + i];
        id[2 * i] = hex[b >> 4];
        id[2 * i + 1] = hex[b & 0xf];
    }
    // Not left behind for anything to read later.
    std::fill_n(pool.begin() + static_cast<std::ptrdiff_t>(used), id_bytes, 0);
    used += id_bytes;
    return id;
}

std::string to_json(const event& e) {
    json::object o;
    o["id"] = e.id;
    o["event"] = to_string(e.what);
    o["at_ms"] = e.at_ms;
    auto text = [&](const char* name, const std::string& v) {
        if (!v.empty())
            o[name] = clean_utf8(v);
    };
    text("queue_id", e.queue_id);
    text("message_id", e.message_id);
    text("auth_user", e.auth_user);
    o["sender"] = clean_utf8(e.sender);  // "" is the null sender, worth saying
    text("recipient", e.recipient);
    text("destination", e.destination);
    text("mx", e.mx);
    text("mx_address", e.mx_address);
    text("tls", e.tls);
    text("source_ip", e.source_ip);
    if (e.attempt)
        o["attempt"] = e.attempt;
    if (e.next_attempt)
        o["next_attempt"] = *e.next_attempt;
    if (e.reply_code)
        o["reply_code"] = e.reply_code;
    text("status", e.status);
    text("reply", e.reply);
    text("reason", e.reason);
    text("severity", e.severity);
    if (!e.tags.empty()) {
        json::array tags;
        for (const auto& t : e.tags)
            tags.emplace_back(clean_utf8(t));
        o["tags"] = std::move(tags);
    }
    return json::serialize(o);
}

std::optional<event> from_json(std::string_view line) {
    boost::system::error_code ec;
    auto v = json::parse(json::string_view(line.data(), line.size()), ec);
    if (ec || !v.is_object())
        return std::nullopt;
    const auto& o = v.as_object();
    auto text = [&](const char* name) -> std::string {
        auto* f = o.if_contains(name);
        return f && f->is_string() ? std::string(f->as_string()) : std::string();
    };
    auto integer = [&](const char* name) -> std::optional<std::int64_t> {
        auto* f = o.if_contains(name);
        if (f && f->is_int64())
            return f->as_int64();
        if (f && f->is_uint64())
            return static_cast<std::int64_t>(f->as_uint64());
        return std::nullopt;
    };
    event e;
    e.id = text("id");
    auto what = kind_from(text("event"));
    auto at = integer("at_ms");
    if (e.id.empty() || !what || !at)
        return std::nullopt;
    e.what = *what;
    e.at_ms = *at;
    e.queue_id = text("queue_id");
    e.message_id = text("message_id");
    e.auth_user = text("auth_user");
    e.sender = text("sender");
    e.recipient = text("recipient");
    e.destination = text("destination");
    e.mx = text("mx");
    e.mx_address = text("mx_address");
    e.tls = text("tls");
    e.source_ip = text("source_ip");
    e.attempt = static_cast<unsigned>(integer("attempt").value_or(0));
    e.next_attempt = integer("next_attempt");
    e.reply_code = static_cast<int>(integer("reply_code").value_or(0));
    e.status = text("status");
    e.reply = text("reply");
    e.reason = text("reason");
    e.severity = text("severity");
    if (auto* t = o.if_contains("tags"); t && t->is_array())
        for (const auto& tag : t->as_array())
            if (tag.is_string())
                e.tags.emplace_back(tag.as_string());
    return e;
}

}  // namespace outpost::events
