// Other senders' suppression exports: column names and reason words mapped onto ours.
#include "core/suppression/foreign_csv.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::suppression {

namespace {

// "Email Address", "email_address" and "EmailAddress" alike: lower case, letters and digits.
std::string squash(std::string_view name) {
    std::string out;
    for (char c : name)
        if (std::isalnum(static_cast<unsigned char>(c)))
            out += util::ascii_lower(c);
    return out;
}

enum class role { address, reason, status, seen, ignored };

std::optional<role> role_of(std::string_view name) {
    auto n = squash(name);
    if (n == "email" || n == "emailaddress" || n == "address" || n == "recipient")
        return role::address;
    if (n == "reason" || n == "suppressionreason")
        return role::reason;
    if (n == "status")
        return role::status;
    if (n == "created" || n == "createdat" || n == "lastupdatetime" || n == "date" ||
        n == "timestamp")
        return role::seen;
    // Postmark's origin and stream, SendGrid's sending IP: nothing of ours to keep them in.
    if (n == "origin" || n == "messagestream" || n == "ip")
        return role::ignored;
    return std::nullopt;
}

bool is_ses_reason(std::string_view v) {
    return util::iequals(v, "BOUNCE") || util::iequals(v, "COMPLAINT");
}

// "5.1.1" (a class, a subject and a detail of at most three digits).
bool is_enhanced(std::string_view s) {
    auto dot1 = s.find('.');
    auto dot2 = dot1 == std::string_view::npos ? dot1 : s.find('.', dot1 + 1);
    if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || dot1 != 1 ||
        dot2 == std::string_view::npos || dot2 - dot1 < 2 || dot2 - dot1 > 4 ||
        s.size() - dot2 < 2 || s.size() - dot2 > 4)
        return false;
    return std::all_of(s.begin() + 2, s.end(), [](char c) {
        return c == '.' || (c >= '0' && c <= '9');
    });
}

// The enhanced code in a reply text ("550 5.1.1 user unknown" -> "5.1.1"), or "".
std::string enhanced_in(std::string_view text) {
    for (std::size_t pos = 0; pos < text.size() && pos < 40;) {
        auto end = text.find(' ', pos);
        auto word = text.substr(pos, end == std::string_view::npos ? text.npos : end - pos);
        if (is_enhanced(word))
            return std::string(word);
        if (end == std::string_view::npos)
            break;
        pos = end + 1;
    }
    return {};
}

struct mapped_reason {
    std::string reason;
    std::optional<kind> severity;
    std::string status;
    bool complaint = false;
};

// A reason word or text as these exports write it, onto ours.
mapped_reason map_reason(std::string_view value) {
    auto n = squash(value);
    if (n == "bounce" || n == "hardbounce" || n == "bounced")
        return {"bounce", kind::hard, {}, false};
    if (n == "softbounce")
        return {"bounce", kind::soft, {}, false};
    if (n == "complaint" || n == "spamcomplaint" || n == "spamreport" || n == "spam")
        return {"feedback", kind::hard, {}, true};
    if (n == "unsubscribe" || n == "unsubscribed" || n == "groupunsubscribe")
        return {"unsubscribe", kind::hard, {}, false};
    if (n == "manualsuppression" || n == "manual")
        return {"manual", kind::hard, {}, false};
    // Free text: what the receiver said (SendGrid's bounce and block reasons).
    auto status = enhanced_in(value);
    bool reply_code = value.size() >= 3 && (value[0] == '4' || value[0] == '5') &&
                      std::isdigit(static_cast<unsigned char>(value[1])) &&
                      std::isdigit(static_cast<unsigned char>(value[2]));
    if (!status.empty() || reply_code) {
        // A 4xx reply without an enhanced code is a temporary failure all the same.
        std::optional<kind> severity;
        if (status.empty() && value[0] == '4')
            severity = kind::soft;
        return {"bounce", severity, status, false};
    }
    return {"import", std::nullopt, {}, false};
}

std::optional<int> digits(std::string_view text, std::size_t at, std::size_t len) {
    if (at + len > text.size())
        return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
        if (text[i] < '0' || text[i] > '9')
            return std::nullopt;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

}  // namespace

std::string_view to_string(foreign_format f) {
    switch (f) {
        case foreign_format::ses:
            return "Amazon SES";
        case foreign_format::postmark:
            return "Postmark";
        case foreign_format::sendgrid:
            return "SendGrid";
    }
    return "";
}

std::optional<foreign_format> detect_foreign(const std::vector<std::string>& header) {
    std::vector<std::string> names;
    for (const auto& h : header)
        names.push_back(squash(h));
    auto has = [&](std::string_view n) {
        return std::find(names.begin(), names.end(), n) != names.end();
    };
    // SES's bulk-import file has no header: "address,BOUNCE".
    if (header.size() == 2 && header[0].find('@') != std::string::npos && is_ses_reason(header[1]))
        return foreign_format::ses;
    for (const auto& h : header)
        if (!role_of(h))
            return std::nullopt;
    if (has("suppressionreason"))
        return foreign_format::postmark;
    if (has("emailaddress") && (has("lastupdatetime") || has("reason")))
        return foreign_format::ses;
    if (has("email"))
        return foreign_format::sendgrid;
    return std::nullopt;
}

namespace {

std::optional<std::int64_t> parse_any_foreign_time(std::string_view text) {
    using namespace std::chrono;
    if (!text.empty() && text.size() <= 12 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::int64_t v = 0;
        for (char c : text)
            v = v * 10 + (c - '0');
        return v;
    }
    auto y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
    if (!y || !mo || !d || text[4] != '-' || text[7] != '-')
        return std::nullopt;
    year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
    if (!ymd.ok())
        return std::nullopt;
    std::int64_t t = sys_days{ymd}.time_since_epoch().count() * std::int64_t{86400};
    if (text.size() == 10)
        return t;
    auto h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
    if ((text[10] != 'T' && text[10] != ' ') || !h || !mi || !s || text[13] != ':' ||
        text[16] != ':' || *h > 23 || *mi > 59 || *s > 60)
        return std::nullopt;
    t += *h * 3600 + *mi * 60 + *s;
    auto rest = text.substr(19);
    if (!rest.empty() && rest[0] == '.') {  // fractions of a second
        auto end = rest.find_first_not_of("0123456789", 1);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    }
    if (rest.empty() || rest == "Z" || rest == "z" || rest == " UTC")
        return t;
    auto oh = digits(rest, 1, 2);
    auto om = rest.size() == 6   ? digits(rest, 4, 2)
              : rest.size() == 5 ? digits(rest, 3, 2)
                                 : std::nullopt;
    if ((rest[0] != '+' && rest[0] != '-') || !oh || !om || (rest.size() == 6 && rest[3] != ':'))
        return std::nullopt;
    auto offset = *oh * 3600 + *om * 60;
    return rest[0] == '+' ? t - offset : t + offset;
}

}  // namespace

std::optional<std::int64_t> parse_foreign_time(std::string_view text) {
    // Our list writes four-digit years from 1970 on; a time outside that is a misread column
    // (twelve digits of unix seconds reach year 33658) and would not read back from our export.
    constexpr std::int64_t latest = 253402300799;  // 9999-12-31T23:59:59Z
    auto t = parse_any_foreign_time(text);
    if (!t || *t < 0 || *t > latest)
        return std::nullopt;
    return t;
}

csv_import read_foreign_entries(
    const csv_document& doc, foreign_format format, const csv_import_options& options
) {
    csv_import out;
    out.problems = doc.problems;
    if (doc.records.empty())
        return out;
    const auto& first = doc.records.front();
    bool headerless = format == foreign_format::ses && first.fields.size() == 2 &&
                      first.fields[0].find('@') != std::string::npos;
    std::vector<role> roles;
    if (headerless)
        roles = {role::address, role::reason};
    else
        for (const auto& h : first.fields)
            roles.push_back(role_of(h).value_or(role::ignored));
    if (std::count(roles.begin(), roles.end(), role::address) != 1) {
        out.problems.push_back(
            {first.line, fmt::format(
                             "{} export without exactly one address column (Email, EmailAddress, "
                             "Recipient or Address)",
                             to_string(format)
                         )}
        );
        return out;
    }
    // SendGrid's spam-report export has an ip column and no reason: every row is a complaint.
    bool spam_reports = format == foreign_format::sendgrid &&
                        std::count(roles.begin(), roles.end(), role::reason) == 0 &&
                        std::any_of(first.fields.begin(), first.fields.end(), [](const auto& h) {
                            return squash(h) == "ip";
                        });
    for (std::size_t r = headerless ? 0 : 1; r < doc.records.size(); ++r) {
        const auto& record = doc.records[r];
        auto problem = [&](std::string message) {
            out.problems.push_back({record.line, std::move(message)});
        };
        if (record.fields.size() != roles.size()) {
            problem(fmt::format("{} fields, the header has {}", record.fields.size(), roles.size())
            );
            continue;
        }
        entry e;
        e.reason = spam_reports ? "feedback" : "import";
        e.origin = spam_reports ? source::complaint : source::import;
        std::optional<kind> severity;
        std::optional<std::int64_t> seen;
        bool ok = true;
        for (std::size_t i = 0; i < roles.size(); ++i) {
            const auto& value = record.fields[i];
            switch (roles[i]) {
                case role::address:
                    e.address = normalize_address(value);
                    if (e.address.empty()) {
                        problem(fmt::format("invalid address \"{}\"", value));
                        ok = false;
                    }
                    break;
                case role::reason: {
                    if (value.empty())
                        break;
                    auto m = map_reason(value);
                    e.reason = m.reason;
                    if (m.severity)
                        severity = m.severity;
                    if (e.status.empty())
                        e.status = m.status;
                    if (m.complaint)
                        e.origin = source::complaint;
                    break;
                }
                case role::status:
                    if (is_enhanced(value))
                        e.status = value;
                    break;
                case role::seen:
                    if (value.empty())
                        break;
                    seen = parse_foreign_time(value);
                    if (!seen) {
                        problem(fmt::format(
                            "bad time \"{}\" (want unix seconds or ISO 8601, 1970 to 9999)", value
                        ));
                        ok = false;
                    }
                    break;
                case role::ignored:
                    break;
            }
        }
        if (!ok)
            continue;
        if (e.reason == "import" && !e.status.empty())
            e.reason = "bounce";
        e.severity = severity.value_or(e.status.starts_with("4.") ? kind::soft : kind::hard);
        e.first_seen = e.last_seen = seen.value_or(options.now);
        e.undated = !seen;
        if (options.origin)
            e.origin = *options.origin;
        out.entries.push_back(std::move(e));
    }
    return out;
}

}  // namespace outpost::suppression
