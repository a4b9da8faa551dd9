// Bounce reasons (the vocabulary shared with Sisimai), hard/soft, and what suppression does with
// each.
#pragma once

#include <optional>
#include <string_view>

namespace outpost::bounce {

// Why a message was not delivered. Names and meanings follow tests/data/bounces/README.md.
enum class reason {
    authfailure,      // SPF, DKIM or DMARC failed
    badreputation,    // the sending IP or domain has a poor reputation
    blocked,          // the sending IP is blocked (DNSBL, local block list, banned IP)
    contenterror,     // the content is malformed (bad MIME, headers too large)
    delivered,        // a "delivered" or "relayed" DSN: not a failure
    exceedlimit,      // a recipient-side limit other than size was exceeded
    expired,          // gave up after retrying until the queue lifetime ran out
    feedback,         // an ARF complaint (RFC 5965)
    filtered,         // refused by a filter after the recipient was accepted
    hasmoved,         // the mailbox moved, no forwarding (5.1.6)
    hostunknown,      // the recipient domain does not exist or has no mail host
    mailboxfull,      // over quota
    mailererror,      // the local delivery program failed (procmail, pipe, ...)
    mesgtoobig,       // the message is larger than the receiver accepts
    networkerror,     // DNS or routing trouble, loops, too many hops
    norelaying,       // relaying denied
    notaccept,        // the domain accepts no mail (null MX, RFC 7505)
    notcompliantrfc,  // the message violates RFC 5322
    onhold,           // the receiver keeps the message; the outcome is open
    policyviolation,  // refused for the receiver's policy reasons
    rejected,         // the envelope sender was refused
    requireptr,       // the sending IP has no (matching) reverse DNS
    securityerror,    // refused for security reasons (access denied, 5.7.x)
    spamdetected,     // the content was judged to be spam
    speeding,         // rate limited
    suspend,          // the mailbox exists but is disabled or suspended
    syntaxerror,      // an SMTP syntax or sequence error
    systemerror,      // the receiving system failed (I/O error, misconfiguration)
    systemfull,       // the receiving system is out of disk
    toomanyconn,      // too many connections
    undefined,        // nothing in the bounce says why
    userunknown,      // the mailbox does not exist
    vacation,         // an auto-reply (RFC 3834), not a bounce
    virusdetected,    // the content carries a virus
};

// "userunknown", ...: the name used in reports, expected.tsv and the suppression list.
std::string_view to_string(reason r);
// The reason with that name; nullopt for an unknown name.
std::optional<reason> parse_reason(std::string_view name);

enum class severity { hard, soft };

std::string_view to_string(severity s);

// tests/data/bounces/README.md: hard bounces are userunknown, hostunknown, hasmoved, and notaccept
// unless the status is temporary (4.x.x); every other reason is soft. `status` is an RFC 3463 code
// such as "5.1.1", or empty.
severity severity_of(reason r, std::string_view status);

// What the suppression list does with a classified bounce. The one mapping the daemon uses:
//
//   reason                                     severity  decision
//   userunknown, hostunknown, hasmoved         hard      suppress_now: never valid again
//   notaccept with a 5.x.x (or no) status      hard      suppress_now: the domain takes no mail
//   feedback                                   soft      suppress_complaint: the person asked us
//                                                        to stop; suppress at once, as a complaint
//   vacation, delivered                        soft      ignore: not a failure at all
//   every other reason (mailboxfull, blocked,  soft      count_soft: one more consecutive failure;
//   expired, spamdetected, suspend, ...)                 suppressed once the configured threshold
//                                                        of consecutive failures over the period
//                                                        is reached, reset by a delivery
//
// Sender- and IP-side reasons (blocked, requireptr, authfailure, speeding, ...) say nothing bad
// about the address, but they still count: an address that fails for months is not worth keeping,
// and the threshold keeps one bad day from removing anybody.
enum class suppression_decision { suppress_now, suppress_complaint, count_soft, ignore };

std::string_view to_string(suppression_decision d);

suppression_decision suppression_for(reason r, std::string_view status);

// Whether a bounce with this reason is no failure at all (auto-replies, delivery reports).
bool ignored(reason r);

}  // namespace outpost::bounce
