// ARC sets in a message (RFC 8617 §4): finding them by instance and the data an ARC-Seal covers.
#include "core/dkim/detail/arc.hpp"

#include <charconv>

#include "core/dkim/detail/canonicalize.hpp"
#include "core/dkim/detail/tag_list.hpp"
#include "core/util/text.hpp"

namespace outpost::dkim::detail {

namespace {

std::optional<unsigned> parse_instance(std::string_view v) {
    v = util::trim(v);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n < 1 || n > max_arc_instance)
        return std::nullopt;
    return n;
}

}  // namespace

bool is_arc_field(const message::header_field& f) {
    return message::name_is(f, "arc-seal") || message::name_is(f, "arc-message-signature") ||
           message::name_is(f, "arc-authentication-results");
}

std::optional<unsigned> arc_instance(const message::header_field& f) {
    if (message::name_is(f, "arc-authentication-results")) {
        // "i=N; authserv-id; results": only the part before the first ';' is a tag.
        auto v = f.value.substr(0, f.value.find(';'));
        auto eq = v.find('=');
        if (eq == std::string_view::npos || util::trim(v.substr(0, eq)) != "i")
            return std::nullopt;
        return parse_instance(v.substr(eq + 1));
    }
    auto tags = parse_tag_list(f.value);
    if (!tags)
        return std::nullopt;
    const auto* i = find_tag(*tags, "i");
    return i ? parse_instance(i->value) : std::nullopt;
}

arc_sets collect_arc_sets(std::span<const message::header_field> fields) {
    arc_sets out;
    std::vector<arc_set> by_instance(max_arc_instance);
    for (const auto& f : fields) {
        if (!is_arc_field(f))
            continue;
        auto i = arc_instance(f);
        if (!i) {
            out.problem = "ARC field with a missing or invalid i=";
            if (out.highest == 0)
                out.highest = 1;
            continue;
        }
        out.highest = std::max(out.highest, *i);
        auto& s = by_instance[*i - 1];
        s.instance = *i;
        const message::header_field** slot = message::name_is(f, "arc-seal") ? &s.seal
                                             : message::name_is(f, "arc-message-signature")
                                                 ? &s.ams
                                                 : &s.aar;
        if (*slot && out.problem.empty())
            out.problem =
                "ARC set i=" + std::to_string(*i) + " has a duplicate " + std::string(f.name);
        *slot = &f;
    }
    for (unsigned i = 1; i <= out.highest && out.problem.empty(); ++i) {
        const auto& s = by_instance[i - 1];
        if (!s.aar || !s.ams || !s.seal)
            out.problem = "ARC set i=" + std::to_string(i) + " is incomplete";
    }
    by_instance.resize(out.highest);
    out.sets = std::move(by_instance);
    return out;
}

std::string seal_data(std::span<const arc_set> sets, std::string_view seal_text) {
    std::string out;
    out.reserve(2048 * sets.size());
    for (std::size_t k = 0; k < sets.size(); ++k) {
        canonicalize_header(canonicalization::relaxed, *sets[k].aar, out);
        canonicalize_header(canonicalization::relaxed, *sets[k].ams, out);
        if (k + 1 < sets.size())
            canonicalize_header(canonicalization::relaxed, *sets[k].seal, out);
    }
    canonicalize_header_text(canonicalization::relaxed, seal_text, out);
    return out;
}

}  // namespace outpost::dkim::detail
