// RFC 3464 delivery status notification parsing.
#include "core/bounce/dsn.hpp"

#include "core/bounce/detail/dsn_fields.hpp"
#include "core/bounce/detail/text_report.hpp"

namespace outpost::bounce {

namespace detail {

namespace {

std::string lower_copy(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

// "rfc822; a@b" -> "a@b"; "smtp; 550 ..." -> "550 ...". Values without a type are kept.
std::string_view drop_type(std::string_view value) {
    auto semi = value.find(';');
    if (semi != std::string_view::npos && semi < 16 &&
        value.substr(0, semi).find(' ') == std::string_view::npos)
        return trim(value.substr(semi + 1));
    return trim(value);
}

std::string recipient_address(std::string_view value) {
    auto bare = drop_type(value);
    auto address = first_address(bare);
    if (!address.empty())
        return address;
    std::string out(bare);
    if (out.size() >= 2 && out.front() == '<' && out.back() == '>')
        out = out.substr(1, out.size() - 2);
    return out;
}

bool per_recipient_field(std::string_view lower_name) {
    for (std::string_view n :
         {"final-recipient", "original-recipient", "action", "status", "diagnostic-code",
          "remote-mta", "last-attempt-date", "will-retry-until", "final-log-id",
          "x-actual-recipient", "x-display-name", "x-powermta-bouncecategory"})
        if (n == lower_name)
            return true;
    return false;
}

void collect_text(const entity& e, std::string& out) {
    if (!out.empty())
        return;
    const auto& type = e.media_type;
    if (type.starts_with("message/") || type == "text/rfc822-headers")
        return;
    for (const auto& p : e.parts) {
        collect_text(p, out);
        if (!out.empty())
            return;
    }
    if (e.parts.empty() && type == "text/plain")
        out = e.text;
    else if (e.parts.empty() && type == "text/html")
        out = html_to_text(e.text);
}

}  // namespace

const entity* find_part(const entity& e, std::string_view media_type) {
    if (e.media_type == media_type)
        return &e;
    for (const auto& p : e.parts)
        if (const auto* found = find_part(p, media_type))
            return found;
    return nullptr;
}

std::optional<dsn> read_dsn(const entity& message) {
    const entity* status_part = find_part(message, "message/delivery-status");
    if (!status_part)
        status_part = find_part(message, "message/global-delivery-status");
    dsn report;
    report.subject = decode_words(field_value(message.headers, "Subject"));
    std::string_view body;
    std::string inline_text;
    if (status_part) {
        collect_text(message, report.human_text);
        body = status_part->text;
    } else {
        // A report whose MIME structure was lost (boundaries stripped by a relay) still carries
        // its fields inline: read them from the first Reporting-MTA or Final-Recipient line.
        if (message.parts.empty() && !message.text.empty()) {
            inline_text = message.text;
            auto lower = lower_copy(inline_text);
            auto final_at = lower.find("\nfinal-recipient:");
            if (final_at == std::string::npos)
                return std::nullopt;
            auto mta_at = lower.rfind("\nreporting-mta:", final_at);
            auto start = (mta_at == std::string::npos ? final_at : mta_at) + 1;
            report.human_text = inline_text.substr(0, start);
            body = std::string_view(inline_text).substr(start);
        } else {
            return std::nullopt;
        }
    }

    // The body is a per-message block and per-recipient blocks separated by empty lines
    // (RFC 3464 §2.1). Real reports lose the empty lines or repeat Final-Recipient within one
    // block, so a recipient also starts at a repeated Final-Recipient or Original-Recipient.
    dsn_recipient* current = nullptr;
    bool block_ended = false;
    bool current_has_fields = false;
    while (!body.empty()) {
        auto [fields, rest] = read_fields(body);
        bool progressed = rest.size() < body.size();
        for (const auto& f : fields) {
            auto name = lower_copy(f.name);
            auto value = std::string(trim(f.value));
            if (!per_recipient_field(name)) {
                if (name == "reporting-mta")
                    report.reporting_mta = std::string(drop_type(value));
                continue;
            }
            bool starts_new =
                !current || (block_ended && current_has_fields) ||
                (name == "final-recipient" && !current->final_recipient.empty()) ||
                (name == "original-recipient" && !current->original_recipient.empty());
            if (starts_new) {
                report.recipients.emplace_back();
                current = &report.recipients.back();
                block_ended = false;
                current_has_fields = false;
            }
            current_has_fields = true;
            if (name == "final-recipient" || name == "x-actual-recipient") {
                if (current->final_recipient.empty())
                    current->final_recipient = recipient_address(value);
            } else if (name == "original-recipient") {
                current->original_recipient = recipient_address(value);
            } else if (name == "action") {
                current->action = lower_copy(trim(value.substr(0, value.find('('))));
            } else if (name == "status") {
                auto code = find_status(value, true);
                current->status = code.empty() ? std::string(trim(value)) : code;
            } else if (name == "diagnostic-code") {
                current->diagnostic_code = std::string(drop_type(value));
                if (auto semi = value.find(';'); semi != std::string::npos && semi < 16)
                    current->diagnostic_type = lower_copy(trim(value.substr(0, semi)));
            } else if (name == "remote-mta") {
                current->remote_mta = std::string(drop_type(value));
            } else if (name == "x-powermta-bouncecategory") {
                current->bounce_category = lower_copy(trim(value));
            }
        }
        block_ended = true;
        if (!progressed) {
            // A line that is no field: skip it.
            auto eol = body.find('\n');
            body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
        } else {
            body = rest;
        }
    }
    // A block without any address names nobody.
    std::erase_if(report.recipients, [](const dsn_recipient& r) { return r.address().empty(); });
    return report;
}

}  // namespace detail

std::optional<dsn> parse_dsn(std::string_view message) {
    return detail::read_dsn(detail::parse_entity(message));
}

}  // namespace outpost::bounce
