#include "core/doctor/checks.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "core/dkim/detail/tag_list.hpp"
#include "core/doctor/spf.hpp"
#include "core/util/text.hpp"

namespace outpost::doctor {

namespace {

namespace asio = boost::asio;
using asio::ip::address;

bool transient(dns::status s) {
    return s == dns::status::servfail || s == dns::status::timeout || s == dns::status::error;
}

std::string strip_dot(std::string s) {
    if (s.ends_with('.'))
        s.pop_back();
    return util::to_lower(s);
}

finding make(
    verdict v, std::string check, std::string subject, std::string message, std::string fix = {}
) {
    return finding{v, std::move(check), std::move(subject), std::move(message), std::move(fix)};
}

std::string ip_term(const address& ip) {
    return (ip.is_v4() ? "ip4:" : "ip6:") + ip.to_string();
}

// The record with an ipN: term for every source address it does not already list, inserted
// before `all`, and a lenient `all` made -all.
std::string with_sources(spf_record record, const std::vector<sending_address>& sources) {
    auto all = std::find_if(record.mechanisms.begin(), record.mechanisms.end(), [](const auto& m) {
        return m.name == "all";
    });
    auto at = static_cast<std::size_t>(all - record.mechanisms.begin());
    for (const auto& s : sources) {
        auto term = ip_term(s.ip);
        bool listed =
            std::any_of(record.mechanisms.begin(), record.mechanisms.end(), [&](const auto& m) {
                return m.text() == term;
            });
        if (listed)
            continue;
        spf_mechanism m;
        m.name = s.ip.is_v4() ? "ip4" : "ip6";
        m.network = s.ip;
        record.mechanisms.insert(record.mechanisms.begin() + static_cast<std::ptrdiff_t>(at++), m);
    }
    bool has_all = false;
    for (auto& m : record.mechanisms)
        if (m.name == "all") {
            m.qualifier = '-';
            has_all = true;
        }
    if (!has_all && !record.redirect) {
        spf_mechanism m;
        m.qualifier = '-';
        m.name = "all";
        record.mechanisms.push_back(m);
    }
    return record.text();
}

std::string fresh_spf(const std::vector<sending_address>& sources) {
    if (sources.empty())
        return "v=spf1 ip4:<this relay's public address> -all";
    return with_sources(spf_record{}, sources);
}

// The v=DMARC1 records among the TXT records at name, with the look-up status.
asio::awaitable<std::pair<dns::status, std::vector<std::string>>> dmarc_records(
    dns::resolver& r, std::string name
) {
    auto txt = co_await r.txt(name);
    std::vector<std::string> records;
    for (const auto& t : txt.records)
        if (t.starts_with("v=DMARC1") &&
            (t.size() == 8 || t[8] == ';' || t[8] == ' ' || t[8] == '\t'))
            records.push_back(t);
    co_return std::pair{txt.result, std::move(records)};
}

std::string key_fix(const std::string& name, const dkim::private_key& key) {
    return txt_line(name, key.dns_record());
}

}  // namespace

const char* to_string(verdict v) {
    switch (v) {
        case verdict::pass:
            return "PASS";
        case verdict::warn:
            return "WARN";
        case verdict::fail:
            return "FAIL";
    }
    return "?";
}

std::string txt_line(const std::string& name, const std::string& value) {
    std::string out = name + ". IN TXT";
    for (std::size_t i = 0; i < value.size() || i == 0; i += 255) {
        out += " \"";
        for (char c : value.substr(i, 255)) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        out += '"';
        if (value.empty())
            break;
    }
    return out;
}

std::string reverse_name(const address& ip) {
    if (ip.is_v4()) {
        auto b = ip.to_v4().to_bytes();
        return fmt::format("{}.{}.{}.{}.in-addr.arpa", b[3], b[2], b[1], b[0]);
    }
    constexpr const char* hex = "0123456789abcdef";
    std::string out;
    auto b = ip.to_v6().to_bytes();
    for (auto it = b.rbegin(); it != b.rend(); ++it) {
        out += hex[*it & 0xf];
        out += '.';
        out += hex[*it >> 4];
        out += '.';
    }
    return out + "ip6.arpa";
}

std::string organizational_domain(std::string_view domain) {
    auto name = strip_dot(std::string(domain));
    auto labels = util::split(name, '.');
    std::size_t keep = 2;
    static const std::set<std::string_view> second_levels{"co",  "com", "net", "org", "ac",
                                                          "gov", "edu", "ne",  "or",  "gob"};
    if (labels.size() >= 3 && labels.back().size() == 2 &&
        second_levels.count(labels[labels.size() - 2]))
        keep = 3;
    if (labels.size() <= keep)
        return name;
    std::string out;
    for (auto i = labels.size() - keep; i < labels.size(); ++i)
        out += (out.empty() ? "" : ".") + std::string(labels[i]);
    return out;
}

asio::awaitable<std::vector<finding>> check_spf(
    dns::resolver& r, std::string domain, std::vector<sending_address> sources
) {
    std::vector<finding> out;
    auto add = [&](verdict v, std::string subject, std::string message, std::string fix = {}) {
        out.push_back(make(v, "spf", std::move(subject), std::move(message), std::move(fix)));
    };
    auto txt = co_await r.txt(domain);
    if (transient(txt.result)) {
        add(verdict::fail, domain,
            fmt::format("TXT look-up failed ({})", dns::to_string(txt.result)));
        co_return out;
    }
    std::vector<std::string> records;
    for (const auto& t : txt.records)
        if (is_spf_record(t))
            records.push_back(t);
    if (records.empty()) {
        add(verdict::fail, domain, "no SPF record (v=spf1)", txt_line(domain, fresh_spf(sources)));
        co_return out;
    }
    if (records.size() > 1) {
        // Receivers answer permerror (RFC 7208 §4.5); the fix merges the terms into one record.
        spf_record merged;
        std::set<std::string> seen;
        for (const auto& text : records) {
            auto parsed = parse_spf(text);
            if (auto* rec = std::get_if<spf_record>(&parsed))
                for (const auto& m : rec->mechanisms)
                    if (m.name != "all" && seen.insert(m.text()).second)
                        merged.mechanisms.push_back(m);
        }
        add(verdict::fail, domain,
            fmt::format(
                "{} SPF records; receivers treat that as permerror: publish one", records.size()
            ),
            txt_line(domain, with_sources(merged, sources)));
        co_return out;
    }
    auto parsed = parse_spf(records[0]);
    if (auto* error = std::get_if<std::string>(&parsed)) {
        add(verdict::fail, domain, fmt::format("syntax error: {} in \"{}\"", *error, records[0]),
            txt_line(domain, fresh_spf(sources)));
        co_return out;
    }
    const auto record = std::get<spf_record>(parsed);
    add(verdict::pass, domain, fmt::format("one SPF record: \"{}\"", records[0]));

    // The worst case a receiver may meet: every term evaluated, every include entered.
    spf_options worst;
    worst.exhaustive = true;
    auto probe = sources.empty() ? asio::ip::make_address("192.0.2.1") : sources.front().ip;
    auto walk = co_await check_host(r, probe, domain, "", "", worst);
    auto counts = fmt::format(
        "{}/{} DNS lookups, {}/{} void lookups", walk.dns_lookups, worst.max_dns_lookups,
        walk.void_lookups, worst.max_void_lookups
    );
    bool over =
        walk.dns_lookups > worst.max_dns_lookups || walk.void_lookups > worst.max_void_lookups;
    if (over) {
        add(verdict::fail, domain,
            fmt::format(
                "{} at worst: receivers answer permerror ({}); replace include: terms by "
                "the ip4:/ip6: ranges they list",
                counts, walk.reason
            ),
            txt_line(domain, fresh_spf(sources)) + "   (if this relay is the only sender)");
    } else if (walk.result == spf_result::permerror || walk.result == spf_result::temperror) {
        add(verdict::fail, domain,
            fmt::format("{}: {} ({})", to_string(walk.result), walk.reason, counts));
    } else {
        add(verdict::pass, domain, counts + " at worst");
    }

    auto all = std::find_if(record.mechanisms.begin(), record.mechanisms.end(), [](const auto& m) {
        return m.name == "all";
    });
    if (all == record.mechanisms.end()) {
        if (!record.redirect)
            add(verdict::warn, domain, "no 'all' term: unlisted hosts get neutral, as with ?all",
                txt_line(domain, with_sources(record, {})));
    } else if (all->qualifier == '~') {
        add(verdict::warn, domain,
            "~all: forged mail only soft-fails SPF; publish -all once every sender is listed",
            txt_line(domain, with_sources(record, {})));
    } else if (all->qualifier == '?') {
        add(verdict::warn, domain, "?all: SPF says nothing about unlisted hosts",
            txt_line(domain, with_sources(record, {})));
    } else if (all->qualifier == '+') {
        add(verdict::warn, domain, "+all: every host on the Internet passes SPF for this domain",
            txt_line(domain, with_sources(record, {})));
    } else {
        add(verdict::pass, domain, "ends with -all");
    }

    if (sources.empty()) {
        add(verdict::warn, domain,
            "no [[source_ip]] in the config: sending addresses not checked against SPF");
        co_return out;
    }
    for (const auto& s : sources) {
        auto e = co_await check_host(r, s.ip, domain, "postmaster@" + domain, s.ehlo);
        auto subject = fmt::format("{} {}", domain, s.ip.to_string());
        if (e.result == spf_result::pass) {
            add(verdict::pass, subject,
                fmt::format(
                    "pass: matched {} in {} ({} DNS lookups)", e.matched, e.matched_domain,
                    e.dns_lookups
                ));
        } else if (e.result == spf_result::permerror || e.result == spf_result::temperror) {
            add(verdict::fail, subject, fmt::format("{}: {}", to_string(e.result), e.reason));
        } else {
            add(verdict::fail, subject, fmt::format("{}: {}", to_string(e.result), e.reason),
                txt_line(domain, with_sources(record, {s})));
        }
    }
    co_return out;
}

asio::awaitable<std::vector<finding>> check_dkim(dns::resolver& r, signing_key key) {
    std::vector<finding> out;
    auto name = fmt::format("{}._domainkey.{}", key.selector, key.domain);
    auto add = [&](verdict v, std::string message, std::string fix = {}) {
        out.push_back(make(v, "dkim", name, std::move(message), std::move(fix)));
    };
    if (auto* error = std::get_if<std::string>(&key.key)) {
        add(verdict::fail, fmt::format("cannot load the private key: {}", *error));
        co_return out;
    }
    const auto& priv = std::get<dkim::private_key>(key.key);
    auto fix = key_fix(name, priv);
    auto txt = co_await r.txt(name);
    if (transient(txt.result)) {
        add(verdict::fail, fmt::format("TXT look-up failed ({})", dns::to_string(txt.result)));
        co_return out;
    }
    if (txt.records.empty()) {
        add(verdict::fail, fmt::format("no key record ({})", dns::to_string(txt.result)), fix);
        co_return out;
    }
    if (txt.records.size() > 1) {
        add(verdict::fail,
            fmt::format(
                "{} TXT records: verifiers may pick either; publish one", txt.records.size()
            ),
            fix);
        co_return out;
    }
    auto pub = dkim::public_key::from_record(txt.records[0]);
    if (auto* error = std::get_if<std::string>(&pub)) {
        add(verdict::fail, fmt::format("record does not parse: {}", *error), fix);
        co_return out;
    }
    const auto& published = std::get<dkim::public_key>(pub);
    // A signature made with the configured key must verify with the published one.
    constexpr std::string_view probe = "outpost doctor key match probe";
    if (published.algo() != priv.algo() || !published.verify(probe, priv.sign(probe))) {
        add(verdict::fail,
            fmt::format(
                "the published {} key does not match the private key ({} {} bits)",
                dkim::to_string(published.algo()), dkim::to_string(priv.algo()), priv.bits()
            ),
            fix);
        co_return out;
    }
    add(verdict::pass, fmt::format(
                           "key record matches the private key ({}, {} bits)",
                           dkim::to_string(priv.algo()), priv.bits()
                       ));
    if (priv.algo() == dkim::algorithm::rsa_sha256 && priv.bits() < 2048)
        add(verdict::warn, fmt::format(
                               "RSA key of {} bits: use 2048 (outpostctl dkim keygen --domain {} "
                               "--selector NEW --bits 2048)",
                               priv.bits(), key.domain
                           ));
    if (published.testing())
        add(verdict::warn,
            "t=y: receivers treat the domain as testing DKIM and may ignore failures", fix);
    co_return out;
}

namespace {

// rua= (RFC 7489 §6.4: comma-separated URIs, "mailto:ADDRESS" with an optional "!SIZE") names
// the report address, and a report domain outside the organizational domain authorises it
// (§7.1).
asio::awaitable<void> check_rua(
    dns::resolver& r,
    std::string domain,
    std::string where,
    std::string text,
    std::string rua,
    std::string report_address,
    std::vector<finding>& out
) {
    auto add = [&](verdict v, std::string message, std::string fix = {}) {
        out.push_back(make(v, "dmarc", domain, std::move(message), std::move(fix)));
    };
    bool named = false;
    for (auto uri : util::split(rua, ',')) {
        auto u = util::trim(uri);
        if (u.size() > 7 && util::iequals(u.substr(0, 7), "mailto:")) {
            auto address =
                u.substr(7, u.find('!') == std::string_view::npos ? u.npos : u.find('!') - 7);
            named = named || util::iequals(util::trim(address), report_address);
        }
    }
    if (!named) {
        auto with = rua.empty()
                        ? text + (text.ends_with(';') ? " " : "; ") + "rua=mailto:" + report_address
                        : text.substr(0, text.find(rua)) + rua + ",mailto:" + report_address +
                              text.substr(text.find(rua) + rua.size());
        add(verdict::warn,
            fmt::format(
                "rua= does not send aggregate reports to {} ([dmarc] report_address): Outpost "
                "sees none",
                report_address
            ),
            txt_line(where, with));
        co_return;
    }
    auto report_domain = util::to_lower(report_address.substr(report_address.rfind('@') + 1));
    if (organizational_domain(report_domain) == organizational_domain(domain)) {
        add(verdict::pass, fmt::format("rua= sends aggregate reports to {}", report_address));
        co_return;
    }
    auto authorisation = fmt::format("{}._report._dmarc.{}", domain, report_domain);
    auto [status, records] = co_await dmarc_records(r, authorisation);
    if (transient(status))
        add(verdict::fail,
            fmt::format("TXT look-up of {} failed ({})", authorisation, dns::to_string(status)));
    else if (records.empty())
        add(verdict::fail,
            fmt::format(
                "{} is outside {}: receivers send it no reports unless {} authorises them "
                "(RFC 7489 7.1)",
                report_domain, organizational_domain(domain), authorisation
            ),
            txt_line(authorisation, "v=DMARC1"));
    else
        add(verdict::pass, fmt::format(
                               "rua= sends aggregate reports to {}, authorised at {}",
                               report_address, authorisation
                           ));
}

}  // namespace

asio::awaitable<std::vector<finding>> check_dmarc(
    dns::resolver& r,
    std::string domain,
    std::string bounce_domain,
    bool signs_subdomains,
    std::string report_address
) {
    std::vector<finding> out;
    auto name = "_dmarc." + domain;
    auto add = [&](verdict v, std::string message, std::string fix = {}) {
        out.push_back(make(v, "dmarc", domain, std::move(message), std::move(fix)));
    };
    auto fresh =
        txt_line(name, fmt::format("v=DMARC1; p=quarantine; rua=mailto:postmaster@{}", domain));

    auto [status, records] = co_await dmarc_records(r, name);
    std::string where = name;
    if (transient(status)) {
        add(verdict::fail,
            fmt::format("TXT look-up of {} failed ({})", name, dns::to_string(status)));
        co_return out;
    }
    auto org = organizational_domain(domain);
    if (records.empty() && org != domain) {
        // RFC 7489 §6.6.3: receivers fall back to the organizational domain's record.
        auto fallback = co_await dmarc_records(r, "_dmarc." + org);
        if (!transient(fallback.first) && !fallback.second.empty()) {
            records = std::move(fallback.second);
            where = "_dmarc." + org;
        }
    }
    if (records.empty()) {
        add(verdict::fail, fmt::format("no DMARC record at {}", name), fresh);
        co_return out;
    }
    if (records.size() > 1) {
        add(verdict::fail,
            fmt::format("{} DMARC records at {}: receivers apply none", records.size(), where),
            fresh);
        co_return out;
    }
    const auto& text = records[0];
    auto tags = dkim::parse_tag_list(text);
    auto bad = [&](std::string why) {
        add(verdict::fail, fmt::format("{} at {}: \"{}\"", why, where, text), fresh);
    };
    if (!tags) {
        bad("malformed tag list");
        co_return out;
    }
    auto value = [&](std::string_view tag) -> std::string {
        auto* t = dkim::find_tag(*tags, tag);
        return t ? util::to_lower(t->value) : std::string{};
    };
    auto policy = value("p");
    if (policy.empty()) {
        bad("no p= policy");
        co_return out;
    }
    if (policy != "none" && policy != "quarantine" && policy != "reject") {
        bad(fmt::format("p={} is not none, quarantine or reject", policy));
        co_return out;
    }
    auto adkim = value("adkim").empty() ? "r" : value("adkim");
    auto aspf = value("aspf").empty() ? "r" : value("aspf");
    if ((adkim != "r" && adkim != "s") || (aspf != "r" && aspf != "s")) {
        bad("adkim= and aspf= must be r or s");
        co_return out;
    }
    int pct = 100;
    if (auto p = value("pct"); !p.empty()) {
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), pct);
        if (ec != std::errc{} || end != p.data() + p.size() || pct < 0 || pct > 100) {
            bad(fmt::format("pct={} is not 0 to 100", p));
            co_return out;
        }
    }
    auto rua = dkim::find_tag(*tags, "rua");
    add(verdict::pass, fmt::format(
                           "{}: p={} pct={} adkim={} aspf={} rua={}", where, policy, pct, adkim,
                           aspf, rua ? std::string(rua->value) : "(none: no aggregate reports)"
                       ));
    if (policy == "none") {
        auto* p = dkim::find_tag(*tags, "p");
        auto stricter = text.substr(0, p->value_begin) + "quarantine" + text.substr(p->value_end);
        add(verdict::warn, "p=none: receivers take no action on mail that fails DMARC",
            txt_line(where, stricter));
    }
    if (pct < 100)
        add(verdict::warn,
            fmt::format("pct={}: the policy applies to only part of the failing mail", pct));
    if (!report_address.empty()) {
        // Named locals: GCC 12 mishandles temporaries passed to a co_await'ed coroutine.
        std::string rua_value = rua ? std::string(rua->value) : std::string();
        std::string record = text;
        co_await check_rua(r, domain, where, record, rua_value, report_address, out);
    }

    // DKIM alignment (RFC 7489 §3.1.1): Outpost signs mail from domain with d=domain.
    if (signs_subdomains && adkim == "s")
        add(verdict::warn,
            fmt::format(
                "adkim=s: mail from subdomains of {} is signed d={} and will not align", domain,
                domain
            ));
    else
        add(verdict::pass,
            fmt::format("DKIM d={} aligns with From: {} (adkim={})", domain, domain, adkim));

    // SPF alignment: the return path is the [bounce] domain when one is set (VERP).
    auto return_path = bounce_domain.empty() ? domain : strip_dot(bounce_domain);
    bool strict_ok = return_path == strip_dot(domain);
    bool relaxed_ok = organizational_domain(return_path) == organizational_domain(domain);
    if (strict_ok || (aspf == "r" && relaxed_ok))
        add(verdict::pass,
            fmt::format("return-path domain {} aligns with {} (aspf={})", return_path, domain, aspf)
        );
    else
        add(verdict::warn,
            fmt::format(
                "return-path domain {} does not align with {} under aspf={}: DMARC passes on DKIM "
                "alone",
                return_path, domain, aspf
            ),
            aspf == "s" && relaxed_ok
                ? txt_line(where, text + (text.ends_with(';') ? " " : "; ") + "aspf=r")
                : fmt::format("[bounce] domain = \"bounces.{}\"", domain));
    co_return out;
}

asio::awaitable<std::vector<finding>> check_ptr(dns::resolver& r, sending_address source) {
    std::vector<finding> out;
    auto subject = source.ip.to_string();
    auto ehlo = strip_dot(source.ehlo);
    auto add = [&](verdict v, std::string message, std::string fix = {}) {
        out.push_back(make(v, "ptr", subject, std::move(message), std::move(fix)));
    };
    auto rr_type = source.ip.is_v4() ? "A" : "AAAA";
    auto ptr_fix = fmt::format("{}. IN PTR {}.", reverse_name(source.ip), ehlo);
    auto forward_fix = fmt::format("{}. IN {} {}", ehlo, rr_type, source.ip.to_string());
    auto names = co_await r.ptr(source.ip);
    if (transient(names.result)) {
        add(verdict::fail, fmt::format("PTR look-up failed ({})", dns::to_string(names.result)));
        co_return out;
    }
    if (names.records.empty()) {
        add(verdict::fail, "no PTR record: many receivers refuse mail from such addresses",
            ptr_fix + "\n" + forward_fix);
        co_return out;
    }
    std::vector<std::string> confirmed;
    std::string all;
    for (const auto& n : names.records) {
        auto name = strip_dot(n);
        all += (all.empty() ? "" : ", ") + name;
        auto addrs = co_await r.address(name);
        if (std::find(addrs.records.begin(), addrs.records.end(), source.ip) != addrs.records.end())
            confirmed.push_back(name);
    }
    if (confirmed.empty()) {
        auto first = strip_dot(names.records.front());
        add(verdict::fail,
            fmt::format("PTR {} does not resolve back to {} (no FCrDNS)", all, subject),
            fmt::format("{}. IN {} {}", first, rr_type, subject));
        co_return out;
    }
    if (std::find(confirmed.begin(), confirmed.end(), ehlo) != confirmed.end()) {
        add(verdict::pass,
            fmt::format("{} -> {} -> {} (FCrDNS), the EHLO name", subject, ehlo, subject));
        co_return out;
    }
    add(verdict::warn,
        fmt::format(
            "{} forward-confirms, but this address greets as {}", confirmed.front(),
            ehlo.empty() ? "(none)" : ehlo
        ),
        fmt::format("ehlo = \"{}\" in its [[source_ip]], or {}", confirmed.front(), ptr_fix));
    co_return out;
}

namespace {

// How one MX host relates to this relay.
struct mx_host_state {
    dns::mx_record mx;
    dns::status result = dns::status::error;
    std::vector<address> addresses;
    bool reaches = false;                // an address with a plain-SMTP listener on port 25
    std::vector<std::string> listeners;  // "127.0.0.20:2525" of ours at its addresses, otherwise
};

std::string endpoint_text(const inbound_address& a) {
    if (a.ip.is_v6())
        return fmt::format("[{}]:{}", a.ip.to_string(), a.port);
    return fmt::format("{}:{}", a.ip.to_string(), a.port);
}

std::string addresses_text(const std::vector<address>& addresses) {
    std::string out;
    for (const auto& a : addresses)
        out += (out.empty() ? "" : ", ") + a.to_string();
    return out;
}

// Whether any of addresses is where a listener takes plain SMTP on port 25; our other listeners
// at those addresses go to listeners.
bool reaches(
    const std::vector<address>& addresses,
    const std::vector<inbound_address>& inbound,
    std::vector<std::string>* listeners = nullptr
) {
    bool found = false;
    for (const auto& a : addresses)
        for (const auto& in : inbound) {
            if (in.ip != a)
                continue;
            if (in.port == 25 && !in.implicit_tls)
                found = true;
            else if (listeners)
                listeners->push_back(
                    endpoint_text(in) + (in.implicit_tls ? " (implicit TLS)" : "")
                );
        }
    return found;
}

std::string mx_text(const mx_host_state& h) {
    auto where =
        h.addresses.empty() ? std::string(dns::to_string(h.result)) : addresses_text(h.addresses);
    return fmt::format("{} {} ({})", h.mx.preference, h.mx.host, where);
}

bool in_v4_network(const address& a, std::uint32_t base, unsigned prefix) {
    if (!a.is_v4())
        return false;
    auto mask = prefix == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix);
    return (a.to_v4().to_uint() & mask) == (base & mask);
}

// Spamhaus' error answers in 127.255.255.0/24: the query was refused, the answer says nothing.
std::string refusal_reason(const address& a) {
    switch (a.to_v4().to_uint() & 0xff) {
        case 252:
            return "the list name is misspelled";
        case 254:
            return "queries through public or open resolvers are refused; use a resolver of "
                   "your own (delivery.dns_servers)";
        case 255:
            return "too many queries from this resolver";
        default:
            return "the query was refused";
    }
}

}  // namespace

asio::awaitable<std::vector<finding>> check_mx(
    dns::resolver& r,
    std::string bounce_domain,
    std::vector<inbound_address> inbound,
    std::string mx_host
) {
    std::vector<finding> out;
    auto domain = strip_dot(bounce_domain);
    auto add = [&](verdict v, std::string message, std::string fix = {}) {
        out.push_back(make(v, "mx", domain, std::move(message), std::move(fix)));
    };
    auto fix = fmt::format("{}. IN MX 10 {}.", domain, strip_dot(mx_host));
    auto mx = co_await r.mx(domain);
    if (transient(mx.result)) {
        add(verdict::fail, fmt::format("MX look-up failed ({})", dns::to_string(mx.result)));
        co_return out;
    }
    if (mx.result == dns::status::nxdomain) {
        add(verdict::fail,
            "the bounce domain does not exist (NXDOMAIN): DSNs to its VERP addresses cannot be "
            "delivered",
            fix);
        co_return out;
    }
    if (mx.records.empty()) {
        // RFC 5321 §5.1: without MX records, senders deliver to the domain's own address.
        auto own = co_await r.address(domain);
        if (own.ok() && reaches(own.records, inbound)) {
            add(verdict::warn,
                fmt::format(
                    "no MX record; senders fall back to the domain's own address ({}), which "
                    "reaches this relay, but some refuse to: publish an MX",
                    addresses_text(own.records)
                ),
                fix);
            co_return out;
        }
        add(verdict::fail,
            "no MX record: DSNs to the VERP addresses do not reach this relay, so asynchronous "
            "bounces are never classified",
            fix);
        co_return out;
    }
    bool null_mx = std::any_of(mx.records.begin(), mx.records.end(), [](const auto& m) {
        return m.host.empty();
    });
    if (null_mx) {
        add(verdict::fail,
            "null MX (RFC 7505): the domain says it accepts no mail, so DSNs to its VERP "
            "addresses bounce",
            fix + "   (instead of the null MX)");
        co_return out;
    }
    auto records = mx.records;
    std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
        return a.preference < b.preference;
    });
    std::vector<mx_host_state> hosts;
    for (const auto& m : records) {
        mx_host_state h;
        h.mx = m;
        auto a = co_await r.address(m.host);
        h.result = a.result;
        h.addresses = a.records;
        h.reaches = reaches(h.addresses, inbound, &h.listeners);
        hosts.push_back(std::move(h));
    }
    std::vector<const mx_host_state*> ours, wrong_port, elsewhere, unresolved;
    for (const auto& h : hosts) {
        if (h.reaches)
            ours.push_back(&h);
        else if (!h.listeners.empty())
            wrong_port.push_back(&h);
        else if (!h.addresses.empty())
            elsewhere.push_back(&h);
        else
            unresolved.push_back(&h);
    }
    auto list = [](const std::vector<const mx_host_state*>& v) {
        std::string s;
        for (const auto* h : v)
            s += (s.empty() ? "" : "; ") + mx_text(*h);
        return s;
    };
    if (!ours.empty() && ours.size() == hosts.size()) {
        add(verdict::pass, fmt::format("MX {}: this relay accepts there on port 25", list(ours)));
        co_return out;
    }
    if (!ours.empty()) {
        std::vector<const mx_host_state*> others;
        for (const auto& h : hosts)
            if (!h.reaches)
                others.push_back(&h);
        add(verdict::warn,
            fmt::format(
                "MX {} reaches this relay, but MX {} does not: DSNs delivered there are never "
                "classified; publish only MX records that point here",
                list(ours), list(others)
            ),
            fmt::format(
                "{}. IN MX {} {}.", domain, ours.front()->mx.preference, ours.front()->mx.host
            ));
        co_return out;
    }
    if (!wrong_port.empty()) {
        const auto* h = wrong_port.front();
        std::string at;
        for (const auto& l : h->listeners)
            at += (at.empty() ? "" : ", ") + l;
        add(verdict::warn,
            fmt::format(
                "MX {} is this relay, but no listener takes plain SMTP on port 25 there (only "
                "{}); other MTAs deliver bounces to port 25",
                mx_text(*h), at
            ),
            fmt::format(
                "[[listener]] address = \"{}\"",
                endpoint_text(inbound_address{h->addresses.front(), 25, false})
            ));
        co_return out;
    }
    if (!elsewhere.empty()) {
        add(verdict::warn,
            fmt::format(
                "MX {} is not this relay: bounces go there, not to Outpost, so DSNs are never "
                "classified and suppressions come only from SMTP replies",
                list(elsewhere)
            ),
            fix);
        co_return out;
    }
    add(verdict::fail,
        fmt::format(
            "MX {}: no MX host has an address, so DSNs cannot be delivered", list(unresolved)
        ),
        fix);
    co_return out;
}

std::vector<std::string> default_dnsbl_zones() {
    return {"zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"};
}

std::string dnsbl_name(const address& ip, std::string_view zone) {
    auto name = reverse_name(ip);
    auto suffix = std::string_view(ip.is_v4() ? "in-addr.arpa" : "ip6.arpa");
    name.resize(name.size() - suffix.size());
    return name + strip_dot(std::string(zone));
}

asio::awaitable<std::vector<finding>> check_dnsbl(dns::resolver& r, address ip, std::string zone) {
    std::vector<finding> out;
    zone = strip_dot(zone);
    auto name = dnsbl_name(ip, zone);
    auto add = [&](verdict v, std::string message) {
        out.push_back(make(v, "dnsbl", ip.to_string(), std::move(message)));
    };
    auto a = co_await r.a(name);
    if (a.result == dns::status::nxdomain || a.result == dns::status::nodata) {
        add(verdict::pass, fmt::format("not listed in {}", zone));
        co_return out;
    }
    if (!a.ok() || a.records.empty()) {
        add(verdict::warn,
            fmt::format(
                "unknown in {}: the look-up of {} failed ({})", zone, name, dns::to_string(a.result)
            ));
        co_return out;
    }
    std::vector<address> listed;
    for (const auto& code : a.records) {
        if (in_v4_network(code, 0x7fffff00u, 24)) {
            add(verdict::warn, fmt::format(
                                   "unknown in {}: the list answered {}: {}", zone,
                                   code.to_string(), refusal_reason(code)
                               ));
            co_return out;
        }
        if (in_v4_network(code, 0x7f000000u, 8))
            listed.push_back(code);
    }
    if (listed.empty()) {
        add(verdict::warn,
            fmt::format(
                "unknown in {}: unexpected answer {}, outside 127.0.0.0/8 (is the zone still a "
                "DNSBL?)",
                zone, addresses_text(a.records)
            ));
        co_return out;
    }
    auto txt = co_await r.txt(name);
    std::string reason;
    for (const auto& t : txt.records)
        reason += (reason.empty() ? "" : " / ") + t;
    add(verdict::fail, fmt::format(
                           "listed in {} ({}){}", zone, addresses_text(listed),
                           reason.empty() ? std::string{} : ": \"" + reason + "\""
                       ));
    co_return out;
}

asio::awaitable<std::vector<finding>> examine(dns::resolver& r, scope s) {
    std::vector<finding> out;
    auto append = [&](std::vector<finding> more) {
        for (auto& f : more)
            out.push_back(std::move(f));
    };
    std::vector<std::string> spf_domains = s.domains;
    if (!s.bounce_domain.empty() &&
        std::find(spf_domains.begin(), spf_domains.end(), strip_dot(s.bounce_domain)) ==
            spf_domains.end())
        spf_domains.push_back(strip_dot(s.bounce_domain));
    for (const auto& d : s.domains) {
        append(co_await check_spf(r, d, s.sources));
        bool any_key = false;
        bool subdomains = false;
        for (const auto& k : s.keys)
            if (k.domain == d) {
                auto found = co_await check_dkim(r, k);
                if (k.signs) {
                    any_key = true;
                    subdomains = subdomains || k.sign_subdomains;
                    append(std::move(found));
                    continue;
                }
                for (auto& f : found) {
                    if (f.level == verdict::fail)
                        f.level = verdict::warn;
                    f.message = "retired key (sign = false): " + f.message;
                    out.push_back(std::move(f));
                }
            }
        if (!any_key)
            out.push_back(make(
                verdict::fail, "dkim", d, "no [[dkim]] entry: mail from this domain is not signed",
                fmt::format(
                    "outpostctl dkim keygen --domain {} --selector NAME, then a [[dkim]] entry", d
                )
            ));
        append(co_await check_dmarc(r, d, s.bounce_domain, subdomains, s.report_address));
    }
    for (std::size_t i = s.domains.size(); i < spf_domains.size(); ++i)
        append(co_await check_spf(r, spf_domains[i], s.sources));
    if (s.sources.empty())
        out.push_back(
            make(verdict::warn, "ptr", "-", "no [[source_ip]] in the config: PTR checks skipped")
        );
    for (const auto& src : s.sources)
        append(co_await check_ptr(r, src));
    if (s.bounce_domain.empty())
        out.push_back(make(
            verdict::warn, "mx", "-",
            "no [bounce] domain: DSNs go to each sender's own address and are never classified",
            fmt::format(
                "[bounce] domain = \"bounces.{}\"", s.domains.empty() ? "example.com" : s.domains[0]
            )
        ));
    else
        append(co_await check_mx(r, s.bounce_domain, s.inbound, s.mx_host));
    if (!s.dnsbl_zones.empty() && s.sources.empty())
        out.push_back(make(
            verdict::warn, "dnsbl", "-", "no [[source_ip]] in the config: DNSBL checks skipped"
        ));
    for (const auto& src : s.sources)
        for (const auto& zone : s.dnsbl_zones)
            append(co_await check_dnsbl(r, src.ip, zone));
    co_return out;
}

}  // namespace outpost::doctor
