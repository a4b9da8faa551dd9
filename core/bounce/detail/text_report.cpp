// Reading non-standard bounces: report text, recipients, per-recipient lines.
#include "core/bounce/detail/text_report.hpp"

#include <algorithm>
#include <cctype>

#include "core/bounce/detail/rules.hpp"

namespace outpost::bounce::detail {

namespace {

bool local_char(char c) {
    auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    if (u >= 0x80)
        return false;
    return std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos;
}

bool domain_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::string lower_copy(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto eol = text.find('\n', pos);
        if (eol == std::string_view::npos) {
            lines.push_back(text.substr(pos));
            break;
        }
        lines.push_back(text.substr(pos, eol - pos));
        pos = eol + 1;
    }
    return lines;
}

// A line that starts an inline copy of the original message's header.
bool header_line(std::string_view line) {
    auto lower = lower_copy(line.substr(0, std::min<std::size_t>(line.size(), 20)));
    for (std::string_view name :
         {"received:", "return-path:", "dkim-signature:", "delivered-to:", "x-received:",
          "message-id:", "x-google-smtp-source:"})
        if (lower.starts_with(name))
            return true;
    return false;
}

void collect_text(const entity& e, std::string& out, bool& stop) {
    if (stop)
        return;
    const auto& type = e.media_type;
    if (type == "message/rfc822" || type == "message/global" || type == "text/rfc822-headers" ||
        type == "message/rfc822-headers" || type == "message/delivery-status" ||
        type == "message/global-delivery-status" || type == "message/feedback-report") {
        stop = true;
        return;
    }
    if (!e.parts.empty()) {
        // multipart/alternative: the plain text alone is enough.
        if (type == "multipart/alternative") {
            for (const auto& p : e.parts)
                if (p.media_type == "text/plain") {
                    collect_text(p, out, stop);
                    return;
                }
        }
        for (const auto& p : e.parts)
            collect_text(p, out, stop);
        return;
    }
    auto disposition = lower_copy(field_value(e.headers, "Content-Disposition"));
    if (disposition.starts_with("attachment") && !out.empty())
        return;
    if (type == "text/html")
        out += html_to_text(e.text);
    else if (type.starts_with("text/") || e.multipart_without_boundaries)
        out += e.text;
    else
        return;
    if (!out.empty() && out.back() != '\n')
        out += '\n';
}

// Whether a label before ':' introduces the failed recipient: "Recipient: <a@b>", "Could not
// be delivered to: <a@b>", "Unknown user: a@b" (iMail), "  RCPT TO: a@b" (Apache James).
bool names_recipient(std::string_view lower_label) {
    for (std::string_view word :
         {"recipient", "delivered to", "address", "unknown user", "invalid user", "mailbox",
          "undeliverable"})
        if (lower_label.find(word) != std::string_view::npos)
            return true;
    return lower_label == "rcpt to";
}

// The envelope senders a session transcript shows (">>> MAIL From:<a@b>", "In:  MAIL\n
// FROM:<a@b>"), lower-cased: the sender of the bounced message, never a recipient.
std::vector<std::string> envelope_senders(std::string_view text) {
    std::vector<std::string> out;
    auto lower = lower_copy(text);
    for (auto at = lower.find("from:<"); at != std::string::npos;
         at = lower.find("from:<", at + 1)) {
        auto end = lower.find('>', at);
        if (end == std::string::npos)
            break;
        for (const auto& a : find_addresses(std::string_view(lower).substr(at + 6, end - at - 6)))
            out.push_back(a);
    }
    return out;
}

}  // namespace

bool daemon_address(std::string_view address) {
    auto at = address.find('@');
    auto local = lower_copy(address.substr(0, at));
    return local == "mailer-daemon" || local == "postmaster" || local == "mail-daemon" ||
           local == "mailerdaemon" || local == "double-bounce";
}

std::vector<std::string> find_addresses(std::string_view text) {
    std::vector<std::string> found;
    std::size_t pos = 0;
    while ((pos = text.find('@', pos)) != std::string_view::npos) {
        std::size_t start = pos;
        while (start > 0 && local_char(text[start - 1]))
            --start;
        std::size_t end = pos + 1;
        while (end < text.size() && domain_char(text[end]))
            ++end;
        auto local = text.substr(start, pos - start);
        while (!local.empty() && local.front() == '.')
            local.remove_prefix(1);
        auto domain = text.substr(pos + 1, end - pos - 1);
        while (!domain.empty() && (domain.back() == '.' || domain.back() == '-'))
            domain.remove_suffix(1);
        // "=?utf-8?q?..." and URLs ("http://x@y") are not addresses.
        bool in_url = start >= 3 && text.substr(start - 3, 3) == "://";
        if (!local.empty() && domain.find('.') != std::string_view::npos && !in_url)
            found.push_back(std::string(local) + "@" + std::string(domain));
        pos = end > pos + 1 ? end : pos + 1;
    }
    return found;
}

std::string lines_about(
    std::string_view text, std::string_view address, const std::vector<std::string>& others
) {
    auto lines = split_lines(text);
    auto wanted = lower_copy(address);
    auto names = [](std::string_view line, const std::string& lower_address) {
        return lower_copy(line).find(lower_address) != std::string::npos;
    };
    std::size_t first = lines.size();
    for (std::size_t i = 0; i < lines.size() && first == lines.size(); ++i)
        if (names(lines[i], wanted))
            first = i;
    std::string out;
    for (std::size_t i = first; i < lines.size(); ++i) {
        if (i > first) {
            bool other = false;
            for (const auto& o : others) {
                auto lo = lower_copy(o);
                if (lo != wanted && names(lines[i], lo) && !names(lines[i], wanted))
                    other = true;
            }
            if (other)
                break;
        }
        out.append(lines[i]);
        out.push_back('\n');
    }
    return out;
}

std::string first_address(std::string_view value) {
    auto all = find_addresses(value);
    return all.empty() ? std::string() : all.front();
}

std::string find_status(std::string_view text, bool success) {
    for (std::size_t i = 0; i + 4 < text.size(); ++i) {
        char c = text[i];
        if ((c != '2' || !success) && c != '4' && c != '5')
            continue;
        if (i > 0 && (is_digit(text[i - 1]) || text[i - 1] == '.'))
            continue;
        if (text[i + 1] != '.')
            continue;
        // RFC 3463 §3 defines subjects 0 to 7; one digit keeps "Exim 4.86.2" out.
        std::size_t j = i + 3;
        if (text[i + 2] < '0' || text[i + 2] > '7' || j >= text.size() || text[j] != '.')
            continue;
        std::size_t k = j + 1;
        std::size_t detail_digits = 0;
        while (k < text.size() && is_digit(text[k]) && detail_digits < 4) {
            ++k;
            ++detail_digits;
        }
        if (detail_digits == 0 || detail_digits > 3)
            continue;
        // Not part of a longer dotted number (an IP address or a version).
        if (k < text.size() &&
            (is_digit(text[k]) || (text[k] == '.' && k + 1 < text.size() && is_digit(text[k + 1]))))
            continue;
        return std::string(text.substr(i, k - i));
    }
    return {};
}

int find_reply_code(std::string_view text) {
    for (std::size_t i = 0; i + 3 <= text.size(); ++i) {
        if ((text[i] != '4' && text[i] != '5') || !is_digit(text[i + 1]) || !is_digit(text[i + 2]))
            continue;
        if (i > 0 && (is_digit(text[i - 1]) || text[i - 1] == '.' || text[i - 1] == '-' ||
                      std::isalpha(static_cast<unsigned char>(text[i - 1]))))
            continue;
        if (i + 3 < text.size() && text[i + 3] != ' ' && text[i + 3] != '-' && text[i + 3] != ':')
            continue;
        return (text[i] - '0') * 100 + (text[i + 1] - '0') * 10 + (text[i + 2] - '0');
    }
    return 0;
}

namespace {

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

// The host name that starts `text` (lower case), when it has a dot; "" otherwise.
std::string host_at(std::string_view text) {
    std::size_t n = 0;
    while (n < text.size() && n < 255 && host_char(text[n]))
        ++n;
    auto name = text.substr(0, n);
    while (name.ends_with('.'))
        name.remove_suffix(1);
    if (name.find('.') == std::string_view::npos || name.starts_with('.'))
        return {};
    return std::string(name);
}

}  // namespace

std::string remote_host_in(std::string_view text) {
    constexpr std::size_t max_text = 64 * 1024;
    auto lower = normalize(text.substr(0, max_text));
    std::string_view t = lower;
    // A Remote-MTA value: the host alone, maybe followed by its address.
    if (auto name = host_at(t); !name.empty() && name.size() + 1 >= t.size())
        return name;
    if (auto name = host_at(t); !name.empty() && t.substr(name.size()).starts_with(" ["))
        return name;
    for (std::string_view lead : {"host ", "while talking to "}) {
        for (auto at = t.find(lead); at != std::string_view::npos; at = t.find(lead, at + 1)) {
            if (at > 0 && host_char(t[at - 1]))
                continue;
            auto rest = t.substr(at + lead.size());
            auto name = host_at(rest);
            if (name.empty())
                continue;
            auto after = rest.substr(name.size());
            while (after.starts_with('.'))
                after.remove_prefix(1);
            if (lead == "host " ? (after.starts_with('[') || after.starts_with(" ["))
                                : after.starts_with(':'))
                return name;
        }
    }
    return {};
}

text_report read_report(const entity& message) {
    std::string all;
    bool stop = false;
    collect_text(message, all, stop);
    text_report report;
    const auto& r = rules();
    auto lines = split_lines(all);
    std::size_t offset = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        auto line = lines[i];
        auto normalized = normalize(line);
        bool cut = r.is_marker(normalized) || (i > 0 && header_line(line) && !report.text.empty());
        if (cut) {
            auto rest_start = offset + line.size() + 1;
            // A header line starts the copy itself; a marker line only announces it.
            if (header_line(line))
                rest_start = offset;
            report.original = rest_start < all.size() ? all.substr(rest_start) : std::string();
            return report;
        }
        report.text.append(line);
        report.text.push_back('\n');
        offset += line.size() + 1;
    }
    return report;
}

std::vector<named_recipient> name_recipients(const entity& message, const text_report& report) {
    // Addresses that are never the failed recipient.
    std::vector<std::string> excluded;
    for (std::string_view name : {"From", "To", "Return-Path", "Reply-To", "Sender"})
        for (const auto& a : find_addresses(field_value(message.headers, name)))
            excluded.push_back(lower_copy(a));
    field_list original;
    for (const auto& part : message.parts)
        for (const auto& inner : part.parts)
            if (original.empty() && !inner.headers.empty())
                original = inner.headers;
    if (original.empty() && !report.original.empty()) {
        // Inline copies are sometimes indented; read the header block with the indent removed.
        std::string unindented;
        for (auto line : split_lines(report.original)) {
            auto t = line;
            while (!t.empty() && t.front() == ' ')
                t.remove_prefix(1);
            bool continuation =
                !line.empty() && (line.front() == '\t' || t.size() + 3 < line.size());
            unindented += continuation ? "\t" : "";
            unindented += t;
            unindented += '\n';
        }
        original = read_fields(unindented).first;
    }
    for (std::string_view name : {"From", "Return-Path", "Sender"})
        for (const auto& a : find_addresses(field_value(original, name)))
            excluded.push_back(lower_copy(a));
    for (const auto& a : envelope_senders(report.text))
        excluded.push_back(a);
    auto usable = [&](const std::string& address) {
        auto lower = lower_copy(address);
        return !daemon_address(address) &&
               std::find(excluded.begin(), excluded.end(), lower) == excluded.end();
    };

    std::vector<std::string> addresses;
    auto add = [&](const std::string& address) {
        auto lower = lower_copy(address);
        for (const auto& a : addresses)
            if (lower_copy(a) == lower)
                return;
        addresses.push_back(address);
    };

    auto lines = split_lines(report.text);
    // Line index where each address is first named at a line start.
    std::vector<std::pair<std::string, std::size_t>> leading;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        auto t = trim(lines[i]);
        // Optional "*", "-", an SMTP code and an enhanced code ("554 <a@b>...", "550 5.1.1
        // <a@b>:"), or a label ending in ':' ("Recipient: <a@b>", "Could not be delivered to:
        // <a@b>").
        while (!t.empty() && (t.front() == '*' || t.front() == '-' || t.front() == ' '))
            t.remove_prefix(1);
        if (t.size() > 4 && is_digit(t[0]) && is_digit(t[1]) && is_digit(t[2]) && t[3] == ' ') {
            t.remove_prefix(4);
            auto status = find_status(t.substr(0, 8));
            if (!status.empty() && t.starts_with(status))
                t = trim(t.substr(status.size()));
        } else if (auto colon = t.find(':');
                   colon != std::string_view::npos && colon < 40 &&
                   t.substr(0, colon).find('@') == std::string_view::npos) {
            auto label = lower_copy(t.substr(0, colon));
            if (names_recipient(label))
                t = trim(t.substr(colon + 1));
        }
        while (!t.empty() && (t.front() == '<' || t.front() == '"' || t.front() == '\''))
            t.remove_prefix(1);
        auto found = find_addresses(t);
        if (found.empty() || !t.starts_with(found.front()))
            continue;
        // The bounce's own To: may be anonymised to the recipient's address; a line that starts
        // with an address names a recipient all the same.
        if (!daemon_address(found.front()))
            leading.emplace_back(found.front(), i);
    }

    for (const auto& a : find_addresses(field_value(message.headers, "X-Failed-Recipients")))
        add(a);
    if (addresses.empty())
        for (const auto& [a, line] : leading)
            add(a);
    if (addresses.empty())
        for (const auto& a : find_addresses(report.text))
            if (usable(a))
                add(a);
    if (addresses.empty())
        for (const auto& a : find_addresses(field_value(original, "To")))
            add(a);

    std::vector<named_recipient> out;
    for (const auto& address : addresses) {
        auto lower = lower_copy(address);
        std::size_t first = lines.size();
        for (const auto& [a, line] : leading)
            if (lower_copy(a) == lower) {
                first = line;
                break;
            }
        named_recipient n{address, {}, {}};
        if (first < lines.size())
            n.line = std::string(lines[first]);
        if (first == lines.size() || addresses.size() == 1) {
            n.text = report.text;
        } else {
            std::size_t last = lines.size();
            for (const auto& [a, line] : leading)
                if (line > first && lower_copy(a) != lower) {
                    last = line;
                    break;
                }
            for (std::size_t i = first; i < last; ++i) {
                n.text.append(lines[i]);
                n.text.push_back('\n');
            }
        }
        out.push_back(std::move(n));
    }
    return out;
}

}  // namespace outpost::bounce::detail
