// Amazon SES notifications: JSON bounce, complaint and delivery reports sent by mail (through
// SNS), read without a JSON library because only a few string fields matter.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::bounce::detail {

struct ses_recipient {
    std::string address;
    std::string status;      // "5.1.1"; "" when not given
    std::string action;      // "failed"
    std::string diagnostic;  // "smtp; 550 5.1.1 user unknown"
};

struct ses_notification {
    std::string type;           // Bounce | Complaint | Delivery
    std::string bounce_type;    // Permanent | Transient | Undetermined
    std::string subtype;        // General, NoEmail, Suppressed, MailboxFull, MessageTooLarge, ...
    std::string feedback_type;  // complaintFeedbackType: abuse, ...
    std::string smtp_response;  // delivery.smtpResponse
    std::vector<ses_recipient> recipients;
};

// The notification in a message body ("{\"notificationType\":\"Bounce\",...}" as an SNS
// Message string, or the bare object); nullopt when the body is not one. Never throws.
std::optional<ses_notification> read_ses_notification(std::string_view body);

}  // namespace outpost::bounce::detail
