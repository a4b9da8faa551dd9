// What one delivery attempt means for one recipient: delivered, bounced or deferred, with the
// reply and status the spool, the log and a DSN record. Pure: the runner feeds it what the
// attempt saw (a receiver's reply, a failed resolution, a suppression, shaping that held it back)
// and the message's age.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/bounce/classifier.hpp"
#include "core/smtp/client.hpp"

namespace outpost::queue {

struct outcome_line {
    std::uint32_t index;  // the recipient's position in the envelope
    enum class kind { delivered, bounced, deferred } what;
    std::string reply;
    std::string status;  // enhanced status code (RFC 3463)
};

// The destination could not be resolved (no MX, no address, a static route without address).
struct route_failure {
    std::string status;
    std::string text;
    bool permanent = false;
};

// Everything about an attempt that is the same for all its recipients.
struct attempt_facts {
    std::string_view suppressed;           // non-empty: not sent, the suppression list's reason
    const route_failure* route = nullptr;  // non-null: there was nowhere to send it
    std::string_view held_back;            // non-empty: shaping held it back until now, and why
    std::int64_t arrived = 0;              // when the message was accepted (unix seconds)
    std::int64_t now = 0;
    std::chrono::milliseconds lifetime{0};  // [delivery] max_lifetime
};

struct recipient_outcome {
    outcome_line line;
    // The receiver's reply the outcome rests on, for the classifier and the throttle; null when
    // there was none or it says nothing about the address (an expiry).
    const smtp::reply* reply = nullptr;
    bounce::reply_phase phase = bounce::reply_phase::other;
};

// The outcome for the recipient at index; result is its entry in the delivery result, or null
// when no server answered for it. A deferral past the message's lifetime is a 4.4.7 bounce.
recipient_outcome decide_outcome(
    std::uint32_t index, const smtp::recipient_result* result, const attempt_facts& facts
);

// The enhanced status a reply stands for: its own, or the class's generic one.
std::string status_of(const smtp::reply& r, bool permanent);

}  // namespace outpost::queue
