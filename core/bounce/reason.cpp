// Reason names, hard/soft, and the suppression decision for each reason.
#include "core/bounce/reason.hpp"

#include <array>
#include <utility>

namespace outpost::bounce {

namespace {

constexpr std::array<std::pair<reason, std::string_view>, 34> names{{
    {reason::authfailure, "authfailure"},
    {reason::badreputation, "badreputation"},
    {reason::blocked, "blocked"},
    {reason::contenterror, "contenterror"},
    {reason::delivered, "delivered"},
    {reason::exceedlimit, "exceedlimit"},
    {reason::expired, "expired"},
    {reason::feedback, "feedback"},
    {reason::filtered, "filtered"},
    {reason::hasmoved, "hasmoved"},
    {reason::hostunknown, "hostunknown"},
    {reason::mailboxfull, "mailboxfull"},
    {reason::mailererror, "mailererror"},
    {reason::mesgtoobig, "mesgtoobig"},
    {reason::networkerror, "networkerror"},
    {reason::norelaying, "norelaying"},
    {reason::notaccept, "notaccept"},
    {reason::notcompliantrfc, "notcompliantrfc"},
    {reason::onhold, "onhold"},
    {reason::policyviolation, "policyviolation"},
    {reason::rejected, "rejected"},
    {reason::requireptr, "requireptr"},
    {reason::securityerror, "securityerror"},
    {reason::spamdetected, "spamdetected"},
    {reason::speeding, "speeding"},
    {reason::suspend, "suspend"},
    {reason::syntaxerror, "syntaxerror"},
    {reason::systemerror, "systemerror"},
    {reason::systemfull, "systemfull"},
    {reason::toomanyconn, "toomanyconn"},
    {reason::undefined, "undefined"},
    {reason::userunknown, "userunknown"},
    {reason::vacation, "vacation"},
    {reason::virusdetected, "virusdetected"},
}};

}  // namespace

std::string_view to_string(reason r) {
    for (const auto& [value, name] : names)
        if (value == r)
            return name;
    return "undefined";
}

std::optional<reason> parse_reason(std::string_view name) {
    for (const auto& [value, text] : names)
        if (text == name)
            return value;
    return std::nullopt;
}

std::string_view to_string(severity s) {
    return s == severity::hard ? "hard" : "soft";
}

severity severity_of(reason r, std::string_view status) {
    switch (r) {
        case reason::userunknown:
        case reason::hostunknown:
        case reason::hasmoved:
            return severity::hard;
        case reason::notaccept:
            return status.starts_with('4') ? severity::soft : severity::hard;
        default:
            return severity::soft;
    }
}

std::string_view to_string(suppression_decision d) {
    switch (d) {
        case suppression_decision::suppress_now:
            return "suppress_now";
        case suppression_decision::suppress_complaint:
            return "suppress_complaint";
        case suppression_decision::count_soft:
            return "count_soft";
        case suppression_decision::ignore:
            return "ignore";
    }
    return "count_soft";
}

bool ignored(reason r) {
    return r == reason::vacation || r == reason::delivered;
}

suppression_decision suppression_for(reason r, std::string_view status) {
    if (ignored(r))
        return suppression_decision::ignore;
    if (r == reason::feedback)
        return suppression_decision::suppress_complaint;
    if (severity_of(r, status) == severity::hard)
        return suppression_decision::suppress_now;
    return suppression_decision::count_soft;
}

}  // namespace outpost::bounce
