// Reading Amazon SES notifications out of JSON text.
#include "core/bounce/detail/ses_notification.hpp"

namespace outpost::bounce::detail {

namespace {

// SNS wraps the notification as a JSON string inside its own JSON ("Message" : "{\"...}"), and
// mail transports fold long lines with a trailing '!'. Undo both so fields read the same way.
std::string unwrap(std::string_view body) {
    std::string out;
    out.reserve(body.size());
    for (std::size_t i = 0; i < body.size(); ++i) {
        char c = body[i];
        if (c == '!' && i + 1 < body.size() && (body[i + 1] == '\n' || body[i + 1] == '\r')) {
            // "...long line!\n continued": drop the marker, the line end and one space.
            while (i + 1 < body.size() && (body[i + 1] == '\n' || body[i + 1] == '\r'))
                ++i;
            if (i + 1 < body.size() && body[i + 1] == ' ')
                ++i;
            continue;
        }
        if (c == '\\' && i + 1 < body.size() && (body[i + 1] == '"' || body[i + 1] == '/')) {
            out.push_back(body[++i]);
            continue;
        }
        out.push_back(c);
    }
    return out;
}

// The string value of "name" : "value" in `text` (the first occurrence); "" when absent.
std::string string_field(std::string_view text, std::string_view name) {
    std::string key = "\"" + std::string(name) + "\"";
    auto at = text.find(key);
    if (at == std::string_view::npos)
        return {};
    auto colon = text.find_first_not_of(" \t\r\n", at + key.size());
    if (colon == std::string_view::npos || text[colon] != ':')
        return {};
    auto quote = text.find_first_not_of(" \t\r\n", colon + 1);
    if (quote == std::string_view::npos || text[quote] != '"')
        return {};
    std::string value;
    for (auto i = quote + 1; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size())
            ++i;
        value.push_back(text[i]);
    }
    return value;
}

// The text of the JSON array value of "name" (between its brackets); "" when absent.
std::string_view array_field(std::string_view text, std::string_view name) {
    std::string key = "\"" + std::string(name) + "\"";
    auto at = text.find(key);
    if (at == std::string_view::npos)
        return {};
    auto open = text.find('[', at + key.size());
    auto close = open == std::string_view::npos ? open : text.find(']', open);
    if (close == std::string_view::npos)
        return {};
    return text.substr(open + 1, close - open - 1);
}

// The objects ({...}, not nested) of an array's text.
std::vector<std::string_view> objects_of(std::string_view array) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while ((pos = array.find('{', pos)) != std::string_view::npos) {
        auto end = array.find('}', pos);
        if (end == std::string_view::npos)
            break;
        out.push_back(array.substr(pos, end - pos + 1));
        pos = end + 1;
    }
    return out;
}

// The quoted strings of an array's text: ["a@b", "c@d"].
std::vector<std::string> strings_of(std::string_view array) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while ((pos = array.find('"', pos)) != std::string_view::npos) {
        auto end = array.find('"', pos + 1);
        if (end == std::string_view::npos)
            break;
        out.emplace_back(array.substr(pos + 1, end - pos - 1));
        pos = end + 1;
    }
    return out;
}

}  // namespace

std::optional<ses_notification> read_ses_notification(std::string_view body) {
    if (body.find("notificationType") == std::string_view::npos)
        return std::nullopt;
    auto text = unwrap(body);
    ses_notification n;
    n.type = string_field(text, "notificationType");
    if (n.type == "Bounce") {
        n.bounce_type = string_field(text, "bounceType");
        n.subtype = string_field(text, "bounceSubType");
        for (auto object : objects_of(array_field(text, "bouncedRecipients")))
            n.recipients.push_back(
                {string_field(object, "emailAddress"), string_field(object, "status"),
                 string_field(object, "action"), string_field(object, "diagnosticCode")}
            );
    } else if (n.type == "Complaint") {
        n.feedback_type = string_field(text, "complaintFeedbackType");
        for (auto object : objects_of(array_field(text, "complainedRecipients")))
            n.recipients.push_back({string_field(object, "emailAddress"), {}, {}, {}});
    } else if (n.type == "Delivery") {
        n.smtp_response = string_field(text, "smtpResponse");
        for (const auto& address : strings_of(array_field(text, "recipients")))
            n.recipients.push_back({address, {}, "delivered", n.smtp_response});
    } else {
        return std::nullopt;
    }
    std::erase_if(n.recipients, [](const ses_recipient& r) {
        return r.address.find('@') == std::string::npos;
    });
    if (n.recipients.empty())
        return std::nullopt;
    return n;
}

}  // namespace outpost::bounce::detail
