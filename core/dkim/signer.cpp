// The signing step of the daemon: DKIM signatures for the From: domain, then an ARC set.
#include "core/dkim/signer.hpp"

#include <algorithm>

#include "core/dkim/detail/arc.hpp"
#include "core/dkim/detail/signature.hpp"
#include "core/message/address.hpp"
#include "core/util/text.hpp"

namespace outpost::dkim {

namespace {

// An RFC 8601 §2.2 pvalue: a token or an addr-spec as is, anything else as a quoted-string.
std::string pvalue(std::string_view v) {
    auto token_char = [](char c) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 32 || u >= 127)
            return false;
        return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
    };
    auto all_token = [&](std::string_view s) {
        return !s.empty() && std::all_of(s.begin(), s.end(), token_char);
    };
    auto at = v.rfind('@');
    bool plain = all_token(v);
    if (!plain && at != std::string_view::npos) {
        auto local = v.substr(0, at);
        auto domain = v.substr(at + 1);
        auto dot_atom = [&](std::string_view s) {
            for (auto part : util::split(s, '.'))
                if (!all_token(part))
                    return false;
            return true;
        };
        plain = (local.empty() || dot_atom(local)) && !domain.empty() && dot_atom(domain);
    }
    if (plain)
        return std::string(v);
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\')
            out += '\\';
        if (c != '\r' && c != '\n')
            out += c;
    }
    out += '"';
    return out;
}

// The RFC 8601 results the new ARC-Authentication-Results records: how the client was allowed
// to relay, the DKIM signatures the message arrived with, and the ARC chain it arrived with.
std::vector<std::string> auth_results(
    const sign_context& ctx, const std::vector<signature_result>& dkim, const arc_result& arc
) {
    std::vector<std::string> out;
    if (ctx.auth_user) {
        out.push_back("auth=pass smtp.auth=" + pvalue(*ctx.auth_user));
    } else if (ctx.allowed_network) {
        // No registered method says "relayed because the client is in a trusted network", so an
        // extension method (RFC 8601 §2.7.6) records the client and the network that allowed it.
        out.push_back(
            "x-outpost-network=pass smtp.client-ip=" + pvalue(ctx.client_ip) +
            " policy.network=" + pvalue(*ctx.allowed_network)
        );
    } else {
        out.push_back("auth=none smtp.client-ip=" + pvalue(ctx.client_ip));
    }
    if (dkim.empty())
        out.push_back("dkim=none");
    for (const auto& r : dkim) {
        std::string s = std::string("dkim=") + to_string(r.status);
        if (r.status != result::pass)
            s += " (" + r.reason + ")";
        if (!r.domain.empty())
            s += " header.d=" + pvalue(r.domain);
        if (!r.selector.empty())
            s += " header.s=" + pvalue(r.selector);
        if (!r.b_prefix.empty())
            s += " header.b=" + pvalue(r.b_prefix);
        out.push_back(std::move(s));
    }
    out.push_back(std::string("arc=") + to_string(arc.status));
    return out;
}

std::string aar_field(
    unsigned instance, std::string_view authserv_id, std::span<const std::string> results
) {
    std::string f = "ARC-Authentication-Results: i=" + std::to_string(instance) + "; ";
    f += authserv_id;
    for (const auto& r : results) {
        f += ";\r\n ";
        f += r;
    }
    f += "\r\n";
    return f;
}

message::header_field single_field(std::string_view text) {
    auto parsed = message::parse_header(text);
    return parsed.fields.front();
}

key_answer no_lookup(std::string_view) {
    return {key_answer::status::temporary, {}};
}

}  // namespace

const char* to_string(skip_reason r) {
    switch (r) {
        case skip_reason::none:
            return "signed";
        case skip_reason::no_from:
            return "no From: field";
        case skip_reason::several_from:
            return "several From: fields";
        case skip_reason::unparsable_from:
            return "From: holds no parsable address";
        case skip_reason::several_domains:
            return "From: addresses in several domains";
        case skip_reason::no_key:
            return "no DKIM key for the From: domain";
        case skip_reason::signing_failed:
            return "signing failed";
    }
    return "unknown";
}

signer::signer(signer_settings settings) : settings_(std::move(settings)) {
    for (auto& k : settings_.keys)
        k.domain = util::to_lower(k.domain);
    sign_options options;
    options.expiration = settings_.expiration;
    options.headers = settings_.headers;
    options.oversign = settings_.oversign;
    dkim_ = detail::prepare(options);
    // The AMS also covers the DKIM signatures, and never expires.
    options.expiration.reset();
    options.headers.push_back("dkim-signature");
    ams_ = detail::prepare(options);
}

signer::key_list signer::keys_for(std::string_view domain) const {
    key_list out;
    auto d = util::to_lower(domain);
    for (const auto& k : settings_.keys)
        if (k.domain == d)
            out.push_back(&k);
    if (!out.empty())
        return out;
    // The nearest parent with entries that sign subdomains signs as d=parent (DMARC relaxed
    // alignment still holds: the organizational domain is the same).
    std::string_view rest = d;
    while (true) {
        auto dot = rest.find('.');
        if (dot == std::string_view::npos)
            return out;
        rest.remove_prefix(dot + 1);
        for (const auto& k : settings_.keys)
            if (k.sign_subdomains && k.domain == rest)
                out.push_back(&k);
        if (!out.empty())
            return out;
    }
}

std::vector<std::string> signer::key_names(std::string_view prefix, std::string_view original)
    const {
    auto m = message::view_message(prefix, original);
    return dkim::key_names(m.fields);
}

sign_outcome signer::sign(
    std::string_view prefix, std::string_view original, const sign_context& ctx
) const {
    sign_outcome out;
    auto m = message::view_message(prefix, original);
    auto from_count = message::count_fields(m.fields, "from");
    if (from_count == 0) {
        out.reason = skip_reason::no_from;
        out.detail = "not signed: the message has no From: field";
        return out;
    }
    if (from_count > 1) {
        out.reason = skip_reason::several_from;
        out.detail = "not signed: the message has " + std::to_string(from_count) + " From: fields";
        return out;
    }
    auto from = message::find_first(m.fields, "from")->value;
    // Nearly every From: is one plain mailbox; only the rest need the full parser.
    if (auto common = message::detail::parse_common_mailbox(from)) {
        out.from_domain = std::move(common->domain);
    } else {
        auto mailboxes = message::detail::parse_address_list_full(from);
        if (!mailboxes || mailboxes->empty()) {
            out.reason = skip_reason::unparsable_from;
            out.detail = "not signed: From: holds no parsable address";
            return out;
        }
        out.from_domain = mailboxes->front().domain;
        for (const auto& mb : *mailboxes) {
            if (mb.domain != out.from_domain) {
                out.reason = skip_reason::several_domains;
                out.detail =
                    "not signed: From: has addresses in " + out.from_domain + " and " + mb.domain;
                return out;
            }
        }
    }
    auto keys = keys_for(out.from_domain);
    if (keys.empty()) {
        out.reason = skip_reason::no_key;
        out.detail = "not signed: no DKIM key for " + out.from_domain;
        return out;
    }

    // Every signature and the AMS are relaxed/relaxed, so the body is hashed once for all.
    auto bh = detail::body_hash(canonicalization::relaxed, m.body);
    std::string dkim_block;
    for (const auto* k : keys) {
        auto field =
            detail::make_signature(m.fields, bh, k->domain, k->selector, k->key, dkim_, ctx.time);
        if (field.empty()) {
            out.reason = skip_reason::signing_failed;
            out.detail = "not signed: OpenSSL failed to sign with " + k->selector + "._domainkey." +
                         k->domain;
            return out;
        }
        if (dkim_block.empty())
            dkim_block = std::move(field);
        else
            dkim_block += field;
        ++out.signatures;
    }
    out.signing_domain = keys.front()->domain;
    // One allocation for the detail rather than one per piece.
    auto count = std::to_string(out.signatures);
    std::string_view noun = out.signatures == 1 ? " signature)" : " signatures)";
    out.detail.reserve(9 + out.signing_domain.size() + 2 + count.size() + noun.size());
    out.detail += "signed d=";
    out.detail += out.signing_domain;
    out.detail += " (";
    out.detail += count;
    out.detail += noun;

    if (!settings_.arc) {
        out.header_block = std::move(dkim_block);
        return out;
    }
    const auto& arc = *settings_.arc;
    const key_lookup& lookup = ctx.lookup ? ctx.lookup : key_lookup(no_lookup);
    verify_options vo;
    vo.now = ctx.time;
    auto incoming = validate_arc(m, lookup, vo);
    out.incoming_chain = incoming.status;
    if (!incoming.sealable) {
        out.header_block = std::move(dkim_block);
        out.detail += "; not sealed: " + incoming.reason;
        return out;
    }
    // A chain we could not check for want of a key record is not ours to end with cv=fail:
    // leave it unsealed so that later hops can still validate it (RFC 8617 §5.1 has no
    // temporary-error outcome for a sealer).
    if (incoming.status == chain_status::fail && incoming.temporary) {
        out.header_block = std::move(dkim_block);
        out.detail += "; not sealed: incoming ARC chain not validated: " + incoming.reason;
        return out;
    }
    auto existing = verify(m, lookup, vo);
    unsigned instance = incoming.instance + 1;

    auto aar = aar_field(instance, arc.authserv_id, auth_results(ctx, existing, incoming));

    // The AMS covers what the DKIM signatures cover plus those signatures (ARC fields never).
    auto dkim_fields = message::parse_header(dkim_block).fields;
    std::vector<message::header_field> fields = dkim_fields;
    fields.insert(fields.end(), m.fields.begin(), m.fields.end());
    auto selection = detail::select_headers(fields, ams_);
    detail::field_writer ams("ARC-Message-Signature");
    ams.tag("i", std::to_string(instance));
    ams.tag("a", to_string(arc.key.algo()));
    ams.tag("c", "relaxed/relaxed");
    ams.tag("d", arc.domain);
    ams.tag("s", arc.selector);
    ams.number_tag("t", ctx.time);
    ams.list_tag("h", {selection.h.data(), selection.h.size()});
    ams.digest_tag("bh", bh);
    auto ams_data = detail::signed_data(
        {selection.fields.data(), selection.fields.size()}, canonicalization::relaxed, ams.begin_b()
    );
    auto ams_sig = arc.key.sign(ams_data);
    if (ams_sig.empty()) {
        out.header_block = std::move(dkim_block);
        out.detail += "; not sealed: OpenSSL failed to sign the ARC-Message-Signature";
        return out;
    }
    auto ams_text = ams.finish_b_signature(ams_sig);

    // RFC 8617 §5.1.1: the seal covers every set in instance order, the new one last; after a
    // failed validation only the new set is sealed, since the old ones prove nothing.
    auto cv = instance == 1 ? chain_status::none : incoming.status;
    auto aar_f = single_field(aar);
    auto ams_f = single_field(ams_text);
    std::vector<detail::arc_set> sets;
    if (cv == chain_status::pass) {
        auto old = detail::collect_arc_sets(m.fields);
        sets = old.sets;
    }
    detail::field_writer seal("ARC-Seal");
    seal.tag("i", std::to_string(instance));
    seal.tag("a", to_string(arc.key.algo()));
    seal.number_tag("t", ctx.time);
    seal.tag("cv", to_string(cv));
    seal.tag("d", arc.domain);
    seal.tag("s", arc.selector);
    auto seal_unsigned = seal.begin_b();
    // The new set's seal is seal_data's last argument; a placeholder entry carries its AAR and AMS.
    sets.push_back(detail::arc_set{instance, &aar_f, &ams_f, nullptr});
    auto seal_sig = arc.key.sign(detail::seal_data(sets, seal_unsigned));
    if (seal_sig.empty()) {
        out.header_block = std::move(dkim_block);
        out.detail += "; not sealed: OpenSSL failed to sign the ARC-Seal";
        return out;
    }
    auto seal_text = seal.finish_b_signature(seal_sig);

    out.header_block.reserve(seal_text.size() + ams_text.size() + aar.size() + dkim_block.size());
    out.header_block += seal_text;
    out.header_block += ams_text;
    out.header_block += aar;
    out.header_block += dkim_block;
    out.sealed = true;
    out.arc_instance = instance;
    out.detail += "; sealed ARC i=" + std::to_string(instance) + " cv=" + to_string(cv);
    return out;
}

}  // namespace outpost::dkim
