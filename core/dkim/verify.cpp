// DKIM signature verification (RFC 6376 §6, RFC 8463) and ARC chain validation (RFC 8617 §5.2).
#include "core/dkim/verify.hpp"

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <tuple>

#include "core/dkim/detail/arc.hpp"
#include "core/dkim/detail/signature.hpp"
#include "core/dkim/detail/tag_list.hpp"
#include "core/dkim/key.hpp"
#include "core/util/text.hpp"

namespace outpost::dkim {

namespace {

enum class field_kind { dkim, ams, seal };

// Body hashes computed so far for one message, by canonicalization and l=, so several
// signatures over the same body hash it once.
class body_cache {
public:
    explicit body_cache(std::string_view body) : body_(body) {}

    const sha256_digest& get(canonicalization c, std::optional<std::uint64_t> limit) {
        for (const auto& [ec, el, d] : entries_)
            if (ec == c && el == limit)
                return d;
        entries_.emplace_back(c, limit, detail::body_hash(c, body_, limit));
        return std::get<2>(entries_.back());
    }

private:
    std::string_view body_;
    std::vector<std::tuple<canonicalization, std::optional<std::uint64_t>, sha256_digest>> entries_;
};

std::optional<std::uint64_t> parse_number(std::string_view v) {
    v = util::trim(v);
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || v.empty())
        return std::nullopt;
    return n;
}

std::optional<std::pair<canonicalization, canonicalization>> parse_canon(std::string_view v) {
    auto one = [](std::string_view s) -> std::optional<canonicalization> {
        if (s == "simple")
            return canonicalization::simple;
        if (s == "relaxed")
            return canonicalization::relaxed;
        return std::nullopt;
    };
    auto slash = v.find('/');
    auto h = one(v.substr(0, slash));
    // §3.5: "c=relaxed" alone means relaxed headers and a simple body.
    auto b = slash == std::string_view::npos ? std::optional(canonicalization::simple)
                                             : one(v.substr(slash + 1));
    if (!h || !b)
        return std::nullopt;
    return std::pair{*h, *b};
}

std::string key_name(std::string_view selector, std::string_view domain) {
    auto name = util::to_lower(selector) + "._domainkey." + util::to_lower(domain);
    if (name.ends_with('.'))
        name.pop_back();
    return name;
}

bool is_same_or_subdomain(std::string_view sub, std::string_view domain) {
    if (util::iequals(sub, domain))
        return true;
    return sub.size() > domain.size() && sub[sub.size() - domain.size() - 1] == '.' &&
           util::iequals(sub.substr(sub.size() - domain.size()), domain);
}

signature_result fail(signature_result r, result status, std::string reason) {
    r.status = status;
    r.reason = std::move(reason);
    return r;
}

// Fetches and parses the key, and checks it fits the signature (§3.6.2, §6.1.2).
std::variant<public_key, std::pair<result, std::string>> fetch_key(
    const std::string& name, algorithm a, const key_lookup& lookup, const verify_options& o
) {
    auto answer = lookup(name);
    if (answer.state == key_answer::status::temporary)
        return std::pair{result::temperror, "key lookup for " + name + " failed temporarily"};
    if (answer.state == key_answer::status::missing || answer.records.empty())
        return std::pair{result::permerror, "no key record at " + name};
    std::string last_error;
    for (const auto& txt : answer.records) {
        auto k = public_key::from_record(txt);
        if (auto* e = std::get_if<std::string>(&k)) {
            last_error = *e;
            continue;
        }
        auto& key = std::get<public_key>(k);
        if (key.algo() != a)
            return std::pair{result::permerror, std::string("key type does not match a=")};
        if (!key.allows_sha256())
            return std::pair{result::permerror, std::string("key h= does not allow sha256")};
        if (a == algorithm::rsa_sha256 && key.bits() < o.min_rsa_bits)
            return std::pair{
                result::permerror,
                "RSA key of " + std::to_string(key.bits()) + " bits is too short"};
        return key;
    }
    return std::pair{result::permerror, last_error};
}

// The signature's own field as it is hashed: its raw text with b= emptied, no final line end.
std::string own_field_text(const message::header_field& f, const std::vector<tag>& tags) {
    auto value_offset = static_cast<std::size_t>(f.value.data() - f.raw.data());
    return std::string(f.raw.substr(0, value_offset)) + without_b_value(f.value, tags);
}

signature_result check(
    const message::header_field& f,
    field_kind kind,
    std::span<const message::header_field> fields,
    body_cache& bodies,
    const key_lookup& lookup,
    const verify_options& o,
    std::span<const detail::arc_set> sealed_sets = {}
) {
    signature_result r;
    r.field = &f;
    auto tags_opt = parse_tag_list(f.value);
    if (!tags_opt)
        return fail(r, result::permerror, "malformed tag list");
    const auto& tags = *tags_opt;
    auto value = [&](std::string_view name) -> std::optional<std::string_view> {
        const auto* t = find_tag(tags, name);
        return t ? std::optional(t->value) : std::nullopt;
    };
    r.domain = std::string(value("d").value_or(""));
    r.selector = std::string(value("s").value_or(""));
    r.algorithm = std::string(value("a").value_or(""));
    r.identity = std::string(value("i").value_or(""));
    auto b_text = strip_fws(value("b").value_or(""));
    r.b_prefix = b_text.substr(0, 8);

    if (kind == field_kind::dkim && value("v") != "1")
        return fail(r, result::permerror, "v= is not 1");
    std::vector<std::string_view> required = {"a", "b", "d", "s"};
    if (kind != field_kind::seal) {
        required.push_back("bh");
        required.push_back("h");
    } else {
        required.push_back("cv");
        if (value("h"))
            return fail(r, result::permerror, "h= is not allowed in ARC-Seal");
    }
    if (kind != field_kind::dkim)
        required.push_back("i");
    for (auto t : required)
        if (!value(t))
            return fail(r, result::permerror, "missing " + std::string(t) + "= tag");
    auto a = parse_algorithm(r.algorithm);
    if (!a)
        return fail(r, result::permerror, "unsupported algorithm a=" + r.algorithm);
    if (r.domain.empty() || r.selector.empty())
        return fail(r, result::permerror, "empty d= or s=");
    if (auto q = value("q"); q && q->find("dns/txt") == std::string_view::npos)
        return fail(r, result::permerror, "unsupported query method q=" + std::string(*q));
    if (auto x = value("x")) {
        auto xv = parse_number(*x);
        if (!xv)
            return fail(r, result::permerror, "malformed x=");
        if (static_cast<std::int64_t>(*xv) < o.now)
            return fail(r, result::permerror, "signature expired");
    }
    std::optional<std::uint64_t> limit;
    if (auto l = value("l")) {
        limit = parse_number(*l);
        if (!limit)
            return fail(r, result::permerror, "malformed l=");
    }
    std::pair c{canonicalization::simple, canonicalization::simple};
    if (kind == field_kind::seal) {
        c = {canonicalization::relaxed, canonicalization::relaxed};
    } else if (auto cv = value("c")) {
        auto parsed = parse_canon(*cv);
        if (!parsed)
            return fail(r, result::permerror, "unsupported canonicalization c=" + std::string(*cv));
        c = *parsed;
    }
    std::vector<std::string> names;
    if (kind != field_kind::seal) {
        for (const auto& n : split_colon_list(*value("h")))
            names.push_back(util::to_lower(n));
        if (kind == field_kind::dkim &&
            std::find(names.begin(), names.end(), "from") == names.end())
            return fail(r, result::permerror, "From is not signed");
        // RFC 8617 §4.1.2: an AMS must not sign ARC-Seal fields.
        if (kind == field_kind::ams &&
            std::find(names.begin(), names.end(), "arc-seal") != names.end())
            return fail(r, result::permerror, "h= includes arc-seal");
        if (kind == field_kind::dkim && !r.identity.empty()) {
            auto at = r.identity.rfind('@');
            auto idomain = at == std::string::npos ? std::string_view{}
                                                   : std::string_view(r.identity).substr(at + 1);
            if (!is_same_or_subdomain(idomain, r.domain))
                return fail(r, result::permerror, "i= is not within d=");
        }
    }

    auto key = fetch_key(key_name(r.selector, r.domain), *a, lookup, o);
    if (auto* e = std::get_if<std::pair<result, std::string>>(&key))
        return fail(r, e->first, e->second);
    const auto& pub = std::get<public_key>(key);
    if (kind == field_kind::dkim && pub.strict() && !r.identity.empty()) {
        auto at = r.identity.rfind('@');
        if (at == std::string::npos || !util::iequals(r.identity.substr(at + 1), r.domain))
            return fail(r, result::permerror, "key t=s needs i= to be exactly d=");
    }

    auto b = util::base64_decode(b_text);
    if (!b || b->empty())
        return fail(r, result::permerror, "b= is not base64");
    std::string data;
    if (kind == field_kind::seal) {
        data = detail::seal_data(sealed_sets, own_field_text(f, tags));
    } else {
        auto bh = util::base64_decode(strip_fws(*value("bh")));
        if (!bh)
            return fail(r, result::permerror, "bh= is not base64");
        const auto& computed = bodies.get(c.second, limit);
        if (bh->size() != computed.size() ||
            !std::equal(computed.begin(), computed.end(), bh->begin(), [](unsigned char x, char y) {
                return x == static_cast<unsigned char>(y);
            }))
            return fail(r, result::fail, "body hash mismatch");
        auto selected = detail::select_fields(fields, names);
        data = detail::signed_data(selected, c.first, own_field_text(f, tags));
    }
    if (!pub.verify(data, *b))
        return fail(r, result::fail, "signature did not verify");
    r.status = result::pass;
    r.reason = pub.testing() ? "ok (key in test mode)" : "ok";
    return r;
}

}  // namespace

const char* to_string(result r) {
    switch (r) {
        case result::pass:
            return "pass";
        case result::fail:
            return "fail";
        case result::neutral:
            return "neutral";
        case result::temperror:
            return "temperror";
        case result::permerror:
            return "permerror";
    }
    return "permerror";
}

const char* to_string(chain_status s) {
    switch (s) {
        case chain_status::none:
            return "none";
        case chain_status::pass:
            return "pass";
        case chain_status::fail:
            return "fail";
    }
    return "fail";
}

key_lookup table_lookup(std::map<std::string, key_answer> table) {
    auto shared = std::make_shared<const std::map<std::string, key_answer>>(std::move(table));
    return [shared](std::string_view name) -> key_answer {
        auto key = util::to_lower(name);
        if (key.ends_with('.'))
            key.pop_back();
        auto it = shared->find(key);
        if (it == shared->end())
            return key_answer{key_answer::status::temporary, {}};
        return it->second;
    };
}

std::vector<std::string> key_names(std::span<const message::header_field> fields) {
    std::vector<std::string> out;
    for (const auto& f : fields) {
        if (!message::name_is(f, "dkim-signature") && !message::name_is(f, "arc-seal") &&
            !message::name_is(f, "arc-message-signature"))
            continue;
        auto tags = parse_tag_list(f.value);
        if (!tags)
            continue;
        const auto* d = find_tag(*tags, "d");
        const auto* s = find_tag(*tags, "s");
        if (!d || !s || d->value.empty() || s->value.empty())
            continue;
        auto name = key_name(s->value, d->value);
        if (std::find(out.begin(), out.end(), name) == out.end())
            out.push_back(std::move(name));
    }
    return out;
}

std::vector<signature_result> verify(
    const message::message_view& message, const key_lookup& lookup, const verify_options& options
) {
    std::vector<signature_result> out;
    body_cache bodies(message.body);
    for (const auto& f : message.fields)
        if (message::name_is(f, "dkim-signature"))
            out.push_back(check(f, field_kind::dkim, message.fields, bodies, lookup, options));
    return out;
}

arc_result validate_arc(
    const message::message_view& message, const key_lookup& lookup, const verify_options& options
) {
    arc_result out;
    auto sets = detail::collect_arc_sets(message.fields);
    out.instance = sets.highest;
    if (sets.highest == 0) {
        out.reason = "no ARC sets";
        return out;
    }
    out.status = chain_status::fail;
    if (sets.highest >= detail::max_arc_instance)
        out.sealable = false;
    if (!sets.problem.empty()) {
        out.reason = sets.problem;
        return out;
    }
    // §5.2 step 2: a chain whose newest seal says cv=fail has ended; nothing more to check.
    auto newest_tags = parse_tag_list(sets.sets.back().seal->value);
    const auto* newest_cv = newest_tags ? find_tag(*newest_tags, "cv") : nullptr;
    if (newest_cv && newest_cv->value == "fail") {
        out.sealable = false;
        out.reason = "ARC-Seal i=" + std::to_string(sets.highest) + " says cv=fail";
        return out;
    }
    body_cache bodies(message.body);
    // §5.2 step 4: only the newest AMS must validate; older ones are reported, not required.
    for (unsigned i = sets.highest; i >= 1; --i) {
        const auto& s = sets.sets[i - 1];
        arc_set_result r;
        r.instance = i;
        auto tags = parse_tag_list(s.seal->value);
        const auto* cv = tags ? find_tag(*tags, "cv") : nullptr;
        r.cv = cv ? std::string(cv->value) : std::string{};
        r.message = check(*s.ams, field_kind::ams, message.fields, bodies, lookup, options);
        r.seal = check(
            *s.seal, field_kind::seal, message.fields, bodies, lookup, options,
            std::span(sets.sets).first(i)
        );
        out.sets.push_back(std::move(r));
    }
    const auto& newest = out.sets.front();
    if (newest.message.status != result::pass) {
        out.reason = "ARC-Message-Signature i=" + std::to_string(newest.instance) + ": " +
                     newest.message.reason;
        out.temporary = newest.message.status == result::temperror;
        return out;
    }
    for (const auto& r : out.sets) {
        auto name = "ARC-Seal i=" + std::to_string(r.instance);
        bool cv_ok = r.instance == 1 ? r.cv == "none" : r.cv == "pass";
        if (!cv_ok) {
            out.reason = name + " has cv=" + r.cv;
            return out;
        }
        if (r.seal.status != result::pass) {
            out.reason = name + ": " + r.seal.reason;
            out.temporary = r.seal.status == result::temperror;
            return out;
        }
    }
    out.status = chain_status::pass;
    out.reason = "chain of " + std::to_string(sets.highest) + " valid";
    return out;
}

}  // namespace outpost::dkim
