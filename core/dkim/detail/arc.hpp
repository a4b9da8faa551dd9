// ARC sets in a message (RFC 8617 §4): finding them by instance and the data an ARC-Seal covers.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/message/header.hpp"

namespace outpost::dkim::detail {

inline constexpr unsigned max_arc_instance = 50;  // RFC 8617 §4.2.1

struct arc_set {
    unsigned instance = 0;
    const message::header_field* aar = nullptr;   // ARC-Authentication-Results
    const message::header_field* ams = nullptr;   // ARC-Message-Signature
    const message::header_field* seal = nullptr;  // ARC-Seal
};

struct arc_sets {
    std::vector<arc_set> sets;  // index k holds instance k + 1; complete when problem is empty
    unsigned highest = 0;       // the greatest i= seen, 0 when the message has no ARC field
    std::string problem;        // why the sets do not form a chain (§5.2 step 3), or empty
};

bool is_arc_field(const message::header_field& f);

// The i= value of an ARC field: the first tag of an AAR (whose value is not a tag-list), a tag of
// AMS and AS. nullopt when missing or not 1..50.
std::optional<unsigned> arc_instance(const message::header_field& f);

// Groups the ARC fields of a message by instance and checks there is exactly one of each kind
// for every instance from 1 to the highest.
arc_sets collect_arc_sets(std::span<const message::header_field> fields);

// The data ARC-Seal i=N covers (RFC 8617 §5.1.1): for each set 1..N its AAR, AMS and AS in
// relaxed canonical form, the last AS being seal_text ("ARC-Seal: ...b=") without CRLF.
std::string seal_data(std::span<const arc_set> sets, std::string_view seal_text);

}  // namespace outpost::dkim::detail
