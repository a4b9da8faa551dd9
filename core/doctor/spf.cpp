#include "core/doctor/spf.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::doctor {

namespace {

namespace asio = boost::asio;
using asio::ip::address;

// No real record nests deeper; a loop of includes is stopped by the lookup limit already, except
// in exhaustive mode, which keeps counting past it.
constexpr unsigned max_depth = 20;
constexpr unsigned hard_lookup_cap = 100;

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::optional<int> parse_length(std::string_view text, int max) {
    int v = 0;
    if (text.empty() || (text.size() > 1 && text[0] == '0'))
        return std::nullopt;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < 0 || v > max)
        return std::nullopt;
    return v;
}

// §7.1 macro-string syntax. exp= may also use c, r and t.
std::optional<std::string> check_macro_string(std::string_view s, bool in_exp) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = s[i];
        if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e)
            return fmt::format("invalid character in '{}'", s);
        if (c != '%')
            continue;
        if (++i == s.size())
            return fmt::format("'%' at the end of '{}'", s);
        if (s[i] == '%' || s[i] == '_' || s[i] == '-')
            continue;
        if (s[i] != '{')
            return fmt::format("'%{}' is not a macro in '{}'", s[i], s);
        auto close = s.find('}', i);
        if (close == std::string_view::npos)
            return fmt::format("unterminated macro in '{}'", s);
        auto body = s.substr(i + 1, close - i - 1);
        if (body.empty())
            return fmt::format("empty macro in '{}'", s);
        auto letter = util::ascii_lower(body[0]);
        std::string_view letters = in_exp ? "slodiphvcrt" : "slodiphv";
        if (letters.find(letter) == std::string_view::npos)
            return fmt::format("unknown macro letter '{}' in '{}'", body[0], s);
        std::size_t j = 1;
        while (j < body.size() && is_digit(body[j]))
            ++j;
        if (j > 1 && !parse_length(body.substr(1, j - 1), 128).value_or(0))
            return fmt::format("bad macro digits in '{}'", s);
        if (j < body.size() && util::ascii_lower(body[j]) == 'r')
            ++j;
        for (; j < body.size(); ++j)
            if (std::string_view(".-+,/_=").find(body[j]) == std::string_view::npos)
                return fmt::format("bad macro delimiter in '{}'", s);
        i = close;
    }
    return std::nullopt;
}

// A domain-spec (§7.1): a macro-string ending in a domain name or a macro.
std::optional<std::string> check_domain_spec(std::string_view s) {
    if (s.empty())
        return std::string("empty domain");
    if (auto e = check_macro_string(s, false))
        return e;
    if (s.find('%') != std::string_view::npos)
        return std::nullopt;
    auto name = s.ends_with('.') ? s.substr(0, s.size() - 1) : s;
    auto dot = name.rfind('.');
    if (dot == std::string_view::npos)
        return fmt::format("'{}' is not a fully qualified domain", s);
    auto top = name.substr(dot + 1);
    if (top.empty() || std::all_of(top.begin(), top.end(), is_digit))
        return fmt::format("'{}' is not a fully qualified domain", s);
    return std::nullopt;
}

bool valid_domain(std::string_view d) {
    if (d.ends_with('.'))
        d.remove_suffix(1);
    if (d.empty() || d.size() > 253)
        return false;
    for (auto label : util::split(d, '.'))
        if (label.empty() || label.size() > 63)
            return false;
    return true;
}

std::variant<spf_mechanism, std::string> parse_mechanism(std::string_view term) {
    spf_mechanism m;
    if (std::string_view("+-~?").find(term[0]) != std::string_view::npos) {
        m.qualifier = term[0];
        term.remove_prefix(1);
    }
    auto end = term.find_first_of(":/");
    m.name = util::to_lower(term.substr(0, end));
    auto rest = end == std::string_view::npos ? std::string_view{} : term.substr(end);
    auto unknown = [&] { return fmt::format("unknown mechanism '{}'", term); };
    auto bad = [&](std::string_view why) { return fmt::format("'{}': {}", term, why); };

    if (m.name == "all") {
        if (!rest.empty())
            return bad("all takes no arguments");
        return m;
    }
    if (m.name == "include" || m.name == "exists") {
        if (!rest.starts_with(':'))
            return bad(m.name + " needs ':domain'");
        m.domain_spec = std::string(rest.substr(1));
        if (auto e = check_domain_spec(m.domain_spec))
            return bad(*e);
        return m;
    }
    if (m.name == "a" || m.name == "mx" || m.name == "ptr") {
        if (m.name != "ptr") {
            // dual-cidr-length at the end: [ "/" ip4-len ] [ "//" ip6-len ]
            auto dd = rest.rfind("//");
            if (dd != std::string_view::npos) {
                auto len = parse_length(rest.substr(dd + 2), 128);
                if (!len)
                    return bad("bad IPv6 prefix length");
                m.cidr6 = *len;
                rest = rest.substr(0, dd);
            }
            auto d = rest.rfind('/');
            if (d != std::string_view::npos) {
                auto len = parse_length(rest.substr(d + 1), 32);
                if (!len)
                    return bad("bad IPv4 prefix length");
                m.cidr4 = *len;
                rest = rest.substr(0, d);
            }
        }
        if (rest.empty())
            return m;
        if (!rest.starts_with(':'))
            return bad("expected ':domain'");
        m.domain_spec = std::string(rest.substr(1));
        if (auto e = check_domain_spec(m.domain_spec))
            return bad(*e);
        return m;
    }
    if (m.name == "ip4" || m.name == "ip6") {
        if (!rest.starts_with(':'))
            return bad(m.name + " needs ':network'");
        rest.remove_prefix(1);
        auto slash = rest.find('/');
        auto net = rest.substr(0, slash);
        boost::system::error_code ec;
        auto a = asio::ip::make_address(std::string(net), ec);
        if (ec || (m.name == "ip4") != a.is_v4())
            return bad(
                fmt::format("'{}' is not an {} address", net, m.name == "ip4" ? "IPv4" : "IPv6")
            );
        m.network = a;
        if (slash != std::string_view::npos) {
            auto len = parse_length(rest.substr(slash + 1), m.name == "ip4" ? 32 : 128);
            if (!len)
                return bad("bad prefix length");
            (m.name == "ip4" ? m.cidr4 : m.cidr6) = *len;
        }
        return m;
    }
    return unknown();
}

bool in_network(const address& ip, const address& net, int prefix) {
    if (ip.is_v4() != net.is_v4())
        return false;
    std::vector<unsigned char> x, y;
    if (ip.is_v4()) {
        auto b1 = ip.to_v4().to_bytes();
        auto b2 = net.to_v4().to_bytes();
        x.assign(b1.begin(), b1.end());
        y.assign(b2.begin(), b2.end());
        if (prefix < 0)
            prefix = 32;
    } else {
        auto b1 = ip.to_v6().to_bytes();
        auto b2 = net.to_v6().to_bytes();
        x.assign(b1.begin(), b1.end());
        y.assign(b2.begin(), b2.end());
        if (prefix < 0)
            prefix = 128;
    }
    for (std::size_t i = 0; prefix > 0; ++i, prefix -= 8) {
        unsigned mask = prefix >= 8 ? 0xffu : (0xffu << (8 - prefix)) & 0xffu;
        if ((x[i] & mask) != (y[i] & mask))
            return false;
    }
    return true;
}

bool transient(dns::status s) {
    return s == dns::status::servfail || s == dns::status::timeout || s == dns::status::error;
}

// %{i}: dotted quad, or for IPv6 32 dot-separated nibbles (§7.3).
std::string ip_macro(const address& ip) {
    if (ip.is_v4())
        return ip.to_string();
    std::string out;
    for (auto b : ip.to_v6().to_bytes()) {
        constexpr const char* hex = "0123456789abcdef";
        if (!out.empty())
            out += '.';
        out += hex[b >> 4];
        out += '.';
        out += hex[b & 0xf];
    }
    return out;
}

struct outcome {
    spf_result result = spf_result::none;
    std::string reason;
    bool void_answer = false;  // the record look-up itself found nothing (NXDOMAIN or no data)
};

enum class match { no, yes, error };

class evaluator {
public:
    evaluator(
        dns::resolver& r, address ip, std::string sender, std::string helo, spf_options options
    )
        : resolver_(r),
          ip_(ip),
          sender_(std::move(sender)),
          helo_(std::move(helo)),
          options_(options) {
        auto at = sender_.rfind('@');
        local_ = at == std::string::npos ? "postmaster" : sender_.substr(0, at);
        sender_domain_ = at == std::string::npos ? sender_ : sender_.substr(at + 1);
        if (local_.empty())
            local_ = "postmaster";
    }

    spf_evaluation finish(outcome o) {
        spf_evaluation e;
        e.dns_lookups = lookups_;
        e.void_lookups = voids_;
        if (!limit_error_.empty() && o.result != spf_result::temperror) {
            o.result = spf_result::permerror;
            o.reason = limit_error_;
        }
        e.result = o.result;
        e.reason = std::move(o.reason);
        e.matched = matched_;
        e.matched_domain = matched_domain_;
        return e;
    }

    asio::awaitable<outcome> evaluate(std::string domain, unsigned depth) {
        if (domain.ends_with('.'))
            domain.pop_back();
        if (!valid_domain(domain))
            co_return outcome{spf_result::none, fmt::format("'{}' is not a valid domain", domain)};
        auto txt = co_await resolver_.txt(domain);
        if (transient(txt.result))
            co_return outcome{
                spf_result::temperror,
                fmt::format("TXT look-up of {} failed ({})", domain, dns::to_string(txt.result))};
        std::vector<std::string> records;
        for (auto& t : txt.records)
            if (is_spf_record(t))
                records.push_back(t);
        if (records.empty()) {
            bool is_void = txt.result == dns::status::nxdomain || txt.records.empty();
            co_return outcome{
                spf_result::none, fmt::format("no SPF record at {}", domain), is_void};
        }
        if (records.size() > 1)
            co_return outcome{
                spf_result::permerror,
                fmt::format("{} SPF records at {} (RFC 7208 §4.5)", records.size(), domain)};
        auto parsed = parse_spf(records[0]);
        if (auto* error = std::get_if<std::string>(&parsed))
            co_return outcome{
                spf_result::permerror, fmt::format("syntax error at {}: {}", domain, *error)};
        auto record = std::move(std::get<spf_record>(parsed));

        for (const auto& m : record.mechanisms) {
            outcome error;
            auto matched = co_await check(m, domain, depth, error);
            if (matched == match::error)
                co_return error;
            if (matched == match::yes && !options_.exhaustive) {
                matched_ = m.text();
                matched_domain_ = domain;
                co_return outcome{
                    result_of(m.qualifier), fmt::format("matched {} in {}", m.text(), domain)};
            }
            if (stop())
                co_return outcome{spf_result::permerror, limit_error_};
        }
        if (record.redirect) {
            if (auto e = count_lookup())
                co_return *e;
            auto target = expand(*record.redirect, domain);
            if (!target)
                co_return outcome{
                    spf_result::permerror, fmt::format("bad redirect={}", *record.redirect)};
            if (depth >= max_depth)
                co_return outcome{spf_result::permerror, "redirect/include nesting too deep"};
            auto sub = co_await evaluate(*target, depth + 1);
            if (sub.void_answer)
                if (auto e = count_void())
                    co_return *e;
            if (sub.result == spf_result::none)
                co_return outcome{
                    spf_result::permerror, fmt::format("redirect={}: {}", *target, sub.reason)};
            co_return sub;
        }
        co_return outcome{spf_result::neutral, fmt::format("no term matched in {}", domain)};
    }

private:
    static spf_result result_of(char qualifier) {
        switch (qualifier) {
            case '-':
                return spf_result::fail;
            case '~':
                return spf_result::softfail;
            case '?':
                return spf_result::neutral;
            default:
                return spf_result::pass;
        }
    }

    asio::awaitable<dns::answer<address>> lookup_address(const std::string& name, bool v4) {
        if (v4)
            co_return co_await resolver_.a(name);
        co_return co_await resolver_.aaaa(name);
    }

    // In exhaustive mode the walk goes on past the limit to count what the record needs.
    bool stop() const {
        return !limit_error_.empty() && (!options_.exhaustive || lookups_ > hard_lookup_cap);
    }

    std::optional<outcome> count_lookup() {
        ++lookups_;
        if (lookups_ > options_.max_dns_lookups && limit_error_.empty())
            limit_error_ = fmt::format(
                "more than {} DNS-querying terms (RFC 7208 §4.6.4)", options_.max_dns_lookups
            );
        if (stop())
            return outcome{spf_result::permerror, limit_error_};
        return std::nullopt;
    }

    std::optional<outcome> count_void() {
        ++voids_;
        if (voids_ > options_.max_void_lookups && limit_error_.empty())
            limit_error_ = fmt::format(
                "more than {} void look-ups (RFC 7208 §4.6.4)", options_.max_void_lookups
            );
        if (stop())
            return outcome{spf_result::permerror, limit_error_};
        return std::nullopt;
    }

    asio::awaitable<match> check(
        const spf_mechanism& m, const std::string& domain, unsigned depth, outcome& error
    ) {
        auto fail_with = [&](spf_result r, std::string reason) {
            error = outcome{r, std::move(reason)};
            return match::error;
        };
        if (m.name == "all")
            co_return match::yes;
        if (m.name == "ip4" || m.name == "ip6")
            co_return in_network(ip_, *m.network, ip_.is_v4() ? m.cidr4 : m.cidr6) ? match::yes
                                                                                   : match::no;
        if (auto e = count_lookup()) {
            error = *e;
            co_return match::error;
        }
        std::string target = domain;
        if (!m.domain_spec.empty()) {
            auto expanded = expand(m.domain_spec, domain);
            if (!expanded)
                co_return fail_with(
                    spf_result::permerror, fmt::format("cannot expand {}", m.text())
                );
            target = *expanded;
        }
        if (m.name == "include") {
            if (depth >= max_depth)
                co_return fail_with(spf_result::permerror, "redirect/include nesting too deep");
            auto sub = co_await evaluate(target, depth + 1);
            if (sub.void_answer)
                if (auto e = count_void()) {
                    error = *e;
                    co_return match::error;
                }
            switch (sub.result) {
                case spf_result::pass:
                    co_return match::yes;
                case spf_result::fail:
                case spf_result::softfail:
                case spf_result::neutral:
                    co_return match::no;
                case spf_result::temperror:
                    error = sub;
                    co_return match::error;
                case spf_result::none:
                    co_return fail_with(
                        spf_result::permerror, fmt::format("include:{}: {}", target, sub.reason)
                    );
                case spf_result::permerror:
                    error = sub;
                    co_return match::error;
            }
            co_return match::no;
        }
        if (m.name == "a" || m.name == "exists") {
            // exists always asks for A records, whatever the client's address family (§5.7).
            bool v4 = m.name == "exists" || ip_.is_v4();
            auto ans = co_await lookup_address(target, v4);
            if (transient(ans.result))
                co_return fail_with(
                    spf_result::temperror, fmt::format(
                                               "{} look-up of {} failed ({})", v4 ? "A" : "AAAA",
                                               target, dns::to_string(ans.result)
                                           )
                );
            if (ans.records.empty()) {
                if (auto e = count_void()) {
                    error = *e;
                    co_return match::error;
                }
                co_return match::no;
            }
            if (m.name == "exists")
                co_return match::yes;
            for (const auto& a : ans.records)
                if (in_network(ip_, a, ip_.is_v4() ? m.cidr4 : m.cidr6))
                    co_return match::yes;
            co_return match::no;
        }
        if (m.name == "mx") {
            auto ans = co_await resolver_.mx(target);
            if (transient(ans.result))
                co_return fail_with(
                    spf_result::temperror,
                    fmt::format("MX look-up of {} failed ({})", target, dns::to_string(ans.result))
                );
            std::vector<std::string> hosts;
            for (const auto& r : ans.records)
                if (!r.host.empty())
                    hosts.push_back(r.host);
            if (hosts.empty()) {
                if (auto e = count_void()) {
                    error = *e;
                    co_return match::error;
                }
                co_return match::no;
            }
            if (hosts.size() > options_.max_mx_names)
                co_return fail_with(
                    spf_result::permerror, fmt::format(
                                               "mx:{} has {} MX hosts (limit {})", target,
                                               hosts.size(), options_.max_mx_names
                                           )
                );
            for (const auto& h : hosts) {
                auto addrs = co_await lookup_address(h, ip_.is_v4());
                if (transient(addrs.result))
                    co_return fail_with(
                        spf_result::temperror,
                        fmt::format(
                            "address look-up of MX {} failed ({})", h, dns::to_string(addrs.result)
                        )
                    );
                for (const auto& a : addrs.records)
                    if (in_network(ip_, a, ip_.is_v4() ? m.cidr4 : m.cidr6))
                        co_return match::yes;
            }
            co_return match::no;
        }
        if (m.name == "ptr") {
            // §5.5: a DNS error here makes the mechanism not match rather than fail the check.
            auto names = co_await resolver_.ptr(ip_);
            if (names.records.empty()) {
                if (!transient(names.result))
                    if (auto e = count_void()) {
                        error = *e;
                        co_return match::error;
                    }
                co_return match::no;
            }
            auto want = util::to_lower(target);
            unsigned n = 0;
            for (const auto& name : names.records) {
                if (++n > options_.max_ptr_names)
                    break;
                auto addrs = co_await lookup_address(name, ip_.is_v4());
                bool confirmed =
                    std::any_of(addrs.records.begin(), addrs.records.end(), [&](const auto& a) {
                        return a == ip_;
                    });
                auto lower = util::to_lower(name);
                if (lower.ends_with('.'))
                    lower.pop_back();
                if (confirmed && (lower == want || lower.ends_with("." + want)))
                    co_return match::yes;
            }
            co_return match::no;
        }
        co_return fail_with(spf_result::permerror, fmt::format("unknown mechanism {}", m.name));
    }

    // §7: macro expansion of a domain-spec, then truncation to 253 characters from the left.
    std::optional<std::string> expand(std::string_view spec, const std::string& domain) const {
        std::string out;
        for (std::size_t i = 0; i < spec.size(); ++i) {
            if (spec[i] != '%') {
                out += spec[i];
                continue;
            }
            if (++i == spec.size())
                return std::nullopt;
            if (spec[i] == '%') {
                out += '%';
                continue;
            }
            if (spec[i] == '_') {
                out += ' ';
                continue;
            }
            if (spec[i] == '-') {
                out += "%20";
                continue;
            }
            auto close = spec.find('}', i);
            if (spec[i] != '{' || close == std::string_view::npos || close == i + 1)
                return std::nullopt;
            auto body = spec.substr(i + 1, close - i - 1);
            i = close;
            char letter = body[0];
            std::string value;
            switch (util::ascii_lower(letter)) {
                case 's':
                    value = local_ + "@" + sender_domain_;
                    break;
                case 'l':
                    value = local_;
                    break;
                case 'o':
                    value = sender_domain_;
                    break;
                case 'd':
                    value = domain;
                    break;
                case 'i':
                    value = ip_macro(ip_);
                    break;
                case 'p':
                    value = "unknown";  // §7.3 allows it, and validating would cost look-ups
                    break;
                case 'v':
                    value = ip_.is_v4() ? "in-addr" : "ip6";
                    break;
                case 'h':
                    value = helo_;
                    break;
                default:
                    return std::nullopt;
            }
            std::size_t j = 1;
            while (j < body.size() && is_digit(body[j]))
                ++j;
            std::size_t keep =
                j > 1 ? static_cast<std::size_t>(*parse_length(body.substr(1, j - 1), 128)) : 0;
            bool reverse = j < body.size() && util::ascii_lower(body[j]) == 'r';
            if (reverse)
                ++j;
            std::string delimiters(body.substr(j));
            if (delimiters.empty())
                delimiters = ".";
            std::vector<std::string> parts;
            std::string part;
            for (char c : value) {
                if (delimiters.find(c) != std::string::npos) {
                    parts.push_back(std::move(part));
                    part.clear();
                } else {
                    part += c;
                }
            }
            parts.push_back(std::move(part));
            if (reverse)
                std::reverse(parts.begin(), parts.end());
            if (keep && keep < parts.size())
                parts.erase(parts.begin(), parts.end() - static_cast<std::ptrdiff_t>(keep));
            std::string joined;
            for (std::size_t k = 0; k < parts.size(); ++k)
                joined += (k ? "." : "") + parts[k];
            if (std::isupper(static_cast<unsigned char>(letter))) {
                std::string escaped;
                for (unsigned char c : joined) {
                    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
                        escaped += static_cast<char>(c);
                    else
                        escaped += fmt::format("%{:02X}", c);
                }
                joined = std::move(escaped);
            }
            out += joined;
        }
        if (out.ends_with('.'))
            out.pop_back();
        while (out.size() > 253) {
            auto dot = out.find('.');
            if (dot == std::string::npos)
                return std::nullopt;
            out.erase(0, dot + 1);
        }
        if (!valid_domain(out))
            return std::nullopt;
        return out;
    }

    dns::resolver& resolver_;
    address ip_;
    std::string sender_;
    std::string helo_;
    spf_options options_;
    std::string local_;
    std::string sender_domain_;
    unsigned lookups_ = 0;
    unsigned voids_ = 0;
    std::string limit_error_;
    std::string matched_;
    std::string matched_domain_;
};

}  // namespace

const char* to_string(spf_result r) {
    switch (r) {
        case spf_result::none:
            return "none";
        case spf_result::neutral:
            return "neutral";
        case spf_result::pass:
            return "pass";
        case spf_result::fail:
            return "fail";
        case spf_result::softfail:
            return "softfail";
        case spf_result::temperror:
            return "temperror";
        case spf_result::permerror:
            return "permerror";
    }
    return "unknown";
}

std::string spf_mechanism::text() const {
    std::string out;
    if (qualifier != '+')
        out += qualifier;
    out += name;
    if (network)
        out += ":" + network->to_string();
    else if (!domain_spec.empty())
        out += ":" + domain_spec;
    if (name == "ip6") {
        if (cidr6 >= 0)
            out += fmt::format("/{}", cidr6);
        return out;
    }
    if (cidr4 >= 0)
        out += fmt::format("/{}", cidr4);
    if (cidr6 >= 0)
        out += fmt::format("//{}", cidr6);
    return out;
}

std::string spf_record::text() const {
    std::string out = "v=spf1";
    for (const auto& m : mechanisms)
        out += " " + m.text();
    if (redirect)
        out += " redirect=" + *redirect;
    if (exp)
        out += " exp=" + *exp;
    return out;
}

bool is_spf_record(std::string_view txt) {
    return util::istarts_with(txt, "v=spf1") && (txt.size() == 6 || txt[6] == ' ');
}

std::variant<spf_record, std::string> parse_spf(std::string_view txt) {
    if (!is_spf_record(txt))
        return std::string("does not start with v=spf1");
    spf_record record;
    for (auto term : util::split(txt.substr(6), ' ')) {
        if (term.empty())
            continue;
        auto first = term.find_first_of("=:/");
        if (first != std::string_view::npos && term[first] == '=') {
            auto name = term.substr(0, first);
            auto value = term.substr(first + 1);
            if (name.empty() || !is_alpha(name[0]) ||
                !std::all_of(name.begin(), name.end(), [](char c) {
                    return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.';
                }))
                return fmt::format("bad modifier name in '{}'", term);
            auto lower = util::to_lower(name);
            if (lower == "redirect" || lower == "exp") {
                auto& slot = lower == "redirect" ? record.redirect : record.exp;
                if (slot)
                    return fmt::format("{}= given twice", lower);
                if (auto e = check_domain_spec(value))
                    return fmt::format("'{}': {}", term, *e);
                slot = std::string(value);
            } else if (auto e = check_macro_string(value, false); e && !value.empty()) {
                return fmt::format("'{}': {}", term, *e);
            }
            continue;
        }
        auto m = parse_mechanism(term);
        if (auto* error = std::get_if<std::string>(&m))
            return *error;
        record.mechanisms.push_back(std::move(std::get<spf_mechanism>(m)));
    }
    return record;
}

asio::awaitable<spf_evaluation> check_host(
    dns::resolver& resolver,
    address ip,
    std::string domain,
    std::string sender,
    std::string helo,
    spf_options options
) {
    // §5: an IPv4-mapped IPv6 client is evaluated as the IPv4 address it carries.
    if (ip.is_v6() && ip.to_v6().is_v4_mapped())
        ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
    if (sender.empty())
        sender = "postmaster@" + domain;
    evaluator e(resolver, ip, std::move(sender), std::move(helo), options);
    auto o = co_await e.evaluate(util::to_lower(domain), 0);
    co_return e.finish(std::move(o));
}

}  // namespace outpost::doctor
