#include "core/spool/record.hpp"

#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/util/text.hpp"

namespace outpost::spool {

namespace {

constexpr std::string_view magic = "outpost-spool 1";

template <class T>
bool parse_number(std::string_view s, T& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

std::string_view ret_name(smtp::dsn_ret r) {
    switch (r) {
        case smtp::dsn_ret::full:
            return "full";
        case smtp::dsn_ret::headers:
            return "hdrs";
        case smtp::dsn_ret::unspecified:
            break;
    }
    return "-";
}

std::string_view body_name(smtp::body_type b) {
    switch (b) {
        case smtp::body_type::seven_bit:
            return "7bit";
        case smtp::body_type::eight_bit_mime:
            return "8bitmime";
        case smtp::body_type::unspecified:
            break;
    }
    return "-";
}

}  // namespace

std::string percent_encode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (c <= 0x20 || c == '%' || c == 0x7f)
            out += fmt::format("%{:02X}", c);
        else
            out += static_cast<char>(c);
    }
    return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        unsigned v = 0;
        if (i + 2 >= s.size())
            return std::nullopt;
        auto hex = s.substr(i + 1, 2);
        auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), v, 16);
        if (ec != std::errc{} || p != hex.data() + 2)
            return std::nullopt;
        out += static_cast<char>(v);
        i += 2;
    }
    return out;
}

std::string format_envelope(
    std::string_view id, std::int64_t arrived, const smtp::envelope& env, std::uint64_t message_size
) {
    std::string out;
    out.reserve(256 + env.recipients.size() * 48);
    out += magic;
    out += '\n';
    out += fmt::format("id {}\narrived {}\n", id, arrived);
    out += fmt::format("from {}\n", percent_encode(env.reverse_path));
    out += fmt::format(
        "body {}\nsmtputf8 {}\nret {}\n", body_name(env.body), env.smtputf8 ? 1 : 0,
        ret_name(env.ret)
    );
    out += fmt::format("envid {}\n", percent_encode(env.envid));
    out += fmt::format(
        "client {}\nhelo {}\nauth {}\ntrusted {}\nprotocol {}\ntls {}\n",
        percent_encode(env.client_address), percent_encode(env.helo), percent_encode(env.auth_user),
        env.client_trusted ? 1 : 0, percent_encode(env.protocol), percent_encode(env.tls)
    );
    if (env.priority != "normal")
        out += fmt::format("priority {}\n", percent_encode(env.priority));
    for (const auto& tag : env.tags)
        out += fmt::format("tag {}\n", percent_encode(tag));
    for (const auto& r : env.recipients)
        out += fmt::format(
            "rcpt {} {} {}\n", r.notify, r.orcpt.empty() ? "-" : percent_encode(r.orcpt),
            percent_encode(r.address)
        );
    out += fmt::format("size {}\n\n", message_size);
    return out;
}

std::string format_result(const recipient_result& r) {
    return fmt::format(
        "{} {} {} {}\n", r.outcome == recipient_result::kind::delivered ? "delivered" : "bounced",
        r.index, r.at, percent_encode(r.reply)
    );
}

std::string format_retry(const retry_state& r) {
    return fmt::format(
        "retry {} {} {} {}\n", r.index, r.attempts, r.next_attempt, percent_encode(r.reply)
    );
}

std::string format_reported(const std::vector<std::size_t>& indexes) {
    return fmt::format("dsn {}\n", fmt::join(indexes, ","));
}

namespace {

// A "retry" line after the message bytes; nullopt when damaged (the recipient is then retried
// as if it had no schedule: early at worst).
std::optional<retry_state> parse_retry(
    const std::vector<std::string_view>& parts, std::size_t recipients
) {
    retry_state r;
    if (parts.size() != 5 || parts[0] != "retry" || !parse_number(parts[1], r.index) ||
        !parse_number(parts[2], r.attempts) || !parse_number(parts[3], r.next_attempt) ||
        r.index >= recipients)
        return std::nullopt;
    auto reply = percent_decode(parts[4]);
    if (!reply)
        return std::nullopt;
    r.reply = std::move(*reply);
    return r;
}

}  // namespace

std::optional<record> parse(std::string_view file, std::string* error) {
    auto fail = [&](std::string what) -> std::optional<record> {
        if (error)
            *error = std::move(what);
        return std::nullopt;
    };
    record rec;
    std::size_t pos = 0;
    auto next_line = [&](std::string_view& line) {
        auto lf = file.find('\n', pos);
        if (lf == std::string_view::npos)
            return false;
        line = file.substr(pos, lf - pos);
        pos = lf + 1;
        return true;
    };
    std::string_view line;
    if (!next_line(line) || line != magic)
        return fail("not an outpost spool file");
    bool have_size = false;
    while (next_line(line)) {
        if (line.empty())
            break;
        auto sp = line.find(' ');
        auto key = line.substr(0, sp);
        auto value = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
        auto text = [&](std::string& out) {
            auto v = percent_decode(value);
            if (!v)
                return false;
            out = std::move(*v);
            return true;
        };
        bool ok = true;
        if (key == "id")
            rec.id = std::string(value);
        else if (key == "arrived")
            ok = parse_number(value, rec.arrived);
        else if (key == "from")
            ok = text(rec.env.reverse_path);
        else if (key == "body")
            rec.env.body = value == "7bit"       ? smtp::body_type::seven_bit
                           : value == "8bitmime" ? smtp::body_type::eight_bit_mime
                                                 : smtp::body_type::unspecified;
        else if (key == "smtputf8")
            rec.env.smtputf8 = value == "1";
        else if (key == "ret")
            rec.env.ret = value == "full"   ? smtp::dsn_ret::full
                          : value == "hdrs" ? smtp::dsn_ret::headers
                                            : smtp::dsn_ret::unspecified;
        else if (key == "envid")
            ok = text(rec.env.envid);
        else if (key == "client")
            ok = text(rec.env.client_address);
        else if (key == "helo")
            ok = text(rec.env.helo);
        else if (key == "auth")
            ok = text(rec.env.auth_user);
        else if (key == "trusted")
            rec.env.client_trusted = value == "1";
        else if (key == "protocol")
            ok = text(rec.env.protocol);
        else if (key == "tls")
            ok = text(rec.env.tls);
        else if (key == "priority")
            ok = text(rec.env.priority);
        else if (key == "tag") {
            std::string tag;
            ok = text(tag);
            if (ok)
                rec.env.tags.push_back(std::move(tag));
        } else if (key == "rcpt") {
            auto parts = util::split(value, ' ');
            smtp::recipient r;
            unsigned notify = 0;
            ok = parts.size() == 3 && parse_number(parts[0], notify) && notify < 256;
            if (ok) {
                r.notify = static_cast<std::uint8_t>(notify);
                auto orcpt =
                    parts[1] == "-" ? std::optional<std::string>("") : percent_decode(parts[1]);
                auto addr = percent_decode(parts[2]);
                ok = orcpt && addr;
                if (ok) {
                    r.orcpt = std::move(*orcpt);
                    r.address = std::move(*addr);
                    rec.env.recipients.push_back(std::move(r));
                }
            }
        } else if (key == "size") {
            ok = parse_number(value, rec.size);
            have_size = ok;
        }
        // Unknown keys are skipped: a newer version may add some.
        if (!ok)
            return fail(fmt::format("bad \"{}\" line", key));
    }
    if (!have_size || rec.id.empty() || rec.env.recipients.empty())
        return fail("envelope is incomplete");
    rec.message_offset = pos;
    if (file.size() - pos < rec.size)
        return fail("message is cut short");
    pos += rec.size;
    while (next_line(line)) {
        auto parts = util::split(line, ' ');
        if (parts.size() == 2 && parts[0] == "dsn") {
            for (auto item : util::split(parts[1], ',')) {
                std::size_t index = 0;
                if (parse_number(item, index) && index < rec.env.recipients.size())
                    rec.reported.insert(index);
            }
            continue;
        }
        if (!parts.empty() && parts[0] == "retry") {
            if (auto retry = parse_retry(parts, rec.env.recipients.size()))
                rec.retries.push_back(std::move(*retry));
            continue;
        }
        recipient_result r;
        // A damaged line (a partial append after a full disk or a power cut, with a later line
        // appended after it) leaves its recipient pending: delivered again at worst, never lost.
        if (parts.size() != 4 || (parts[0] != "delivered" && parts[0] != "bounced") ||
            !parse_number(parts[1], r.index) || !parse_number(parts[2], r.at) ||
            r.index >= rec.env.recipients.size())
            continue;
        r.outcome = parts[0] == "delivered" ? recipient_result::kind::delivered
                                            : recipient_result::kind::bounced;
        auto reply = percent_decode(parts[3]);
        if (!reply)
            continue;
        r.reply = std::move(*reply);
        rec.results.push_back(std::move(r));
    }
    // A result line cut short by a crash is an unfinished append: the recipient is still pending.
    return rec;
}

}  // namespace outpost::spool
