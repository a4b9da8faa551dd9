// Parsing and matching of the classification rules table.
#include "core/bounce/detail/rules.hpp"

#include <algorithm>
#include <span>

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::bounce::detail {

namespace {

constexpr std::size_t reason_count = static_cast<std::size_t>(reason::virusdetected) + 1;

// Kinds whose rows may name, in a fourth column, the MTAs that write them.
bool names_mtas(std::string_view kind) {
    return kind == "lhost" || kind == "lhostre" || kind == "mtastatus" || kind == "category" ||
           kind == "mtatext";
}

bool valid_kind(std::string_view kind) {
    for (std::string_view k :
         {"text", "pair", "regex", "isnot", "lhost", "lhostre", "status", "command", "pseudo",
          "marker", "autoreply", "bounce", "delayed", "rhost", "mtastatus", "category", "mtatext"})
        if (k == kind)
            return true;
    return false;
}

bool valid_command(std::string_view command) {
    for (std::string_view c : {"CONN", "HELO", "MAIL", "RCPT", "DATA"})
        if (c == command)
            return true;
    return false;
}

constexpr std::size_t max_regex_input = 16 * 1024;

bool status_matches(std::string_view pattern, std::string_view status) {
    if (pattern.starts_with("x.") && status.size() > 2)
        return pattern.substr(2) == status.substr(2);
    return pattern == status;
}

// "a | b | c" -> {"a", "b", "c"}, each normalized.
std::vector<std::string> split_fragments(std::string_view pattern) {
    std::vector<std::string> out;
    for (auto piece : util::split(pattern, '|')) {
        auto fragment = normalize(piece);
        if (!fragment.empty())
            out.push_back(std::move(fragment));
    }
    return out;
}

bool literal_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ' || c == '_' || c == '-' ||
           c == ',' || c == ':' || c == '=' || c == '@' || c == '/';
}

// Whether the pattern has a '|' outside any group or class: "a|b" may match without "a".
bool top_level_alternative(std::string_view pattern) {
    int depth = 0;
    bool in_class = false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (c == '\\') {
            ++i;
        } else if (in_class) {
            in_class = c != ']';
        } else if (c == '[') {
            in_class = true;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')') {
            --depth;
        } else if (c == '|' && depth == 0) {
            return true;
        }
    }
    return false;
}

bool optional_after(std::string_view pattern, std::size_t at) {
    return at < pattern.size() && (pattern[at] == '?' || pattern[at] == '*' || pattern[at] == '{');
}

// See rule::guards: a leading "\b" is skipped; then either a group of plain alternatives
// "(a|b|c)" or a plain literal of at least three characters. Patterns with a second top-level
// alternative, or whose start is optional, get none.
std::vector<std::string> guards_of(std::string_view pattern) {
    if (pattern.starts_with("\\b"))
        pattern.remove_prefix(2);
    if (pattern.starts_with("(") && !pattern.starts_with("(?")) {
        auto close = pattern.find(')');
        if (close == std::string_view::npos || optional_after(pattern, close + 1) ||
            top_level_alternative(pattern.substr(close + 1)))
            return {};
        std::vector<std::string> out;
        for (auto piece : util::split(pattern.substr(1, close - 1), '|')) {
            if (piece.empty() || !std::all_of(piece.begin(), piece.end(), literal_char))
                return {};
            out.emplace_back(piece);
        }
        return out;
    }
    if (top_level_alternative(pattern))
        return {};
    std::size_t n = 0;
    while (n < pattern.size() && literal_char(pattern[n]))
        ++n;
    // A literal followed by a quantifier is not required as a whole.
    if (optional_after(pattern, n))
        n = n > 0 ? n - 1 : 0;
    if (n < 3)
        return {};
    return {std::string(pattern.substr(0, n))};
}

// "mfsmax.docomo.ne.jp" is "docomo.ne.jp" or under it.
bool host_under(std::string_view host, std::string_view domain) {
    if (domain.starts_with('.'))
        domain.remove_prefix(1);
    if (domain.empty() || host.size() < domain.size() || !host.ends_with(domain))
        return false;
    return host.size() == domain.size() || host[host.size() - domain.size() - 1] == '.';
}

// rhost REASON PROVIDER HOSTS STATUS COMMAND PHRASE; an error message when malformed.
std::string parse_rhost(std::span<const std::string_view> cols, rule& r) {
    if (cols.size() != 7)
        return "expected rhost<TAB>REASON<TAB>PROVIDER<TAB>HOSTS<TAB>STATUS<TAB>COMMAND<TAB>PHRASE";
    auto why = parse_reason(cols[1]);
    if (!why)
        return fmt::format("unknown reason \"{}\"", cols[1]);
    r.why = *why;
    r.mtas.emplace_back(util::trim(cols[2]));
    for (auto host : util::split(cols[3], ','))
        if (auto h = util::trim(host); !h.empty())
            r.hosts.push_back(normalize(h));
    if (r.hosts.empty())
        return "an rhost row needs its provider's hosts";
    if (cols[4] != "-")
        r.status = std::string(cols[4]);
    if (cols[5] != "-") {
        if (!valid_command(cols[5]))
            return fmt::format("unknown command \"{}\"", cols[5]);
        r.command = std::string(cols[5]);
    }
    if (cols[6] != "-")
        r.pattern = normalize(cols[6]);
    if (r.status.empty() && r.command.empty() && r.pattern.empty())
        return "an rhost row needs a status, a command or a phrase";
    return {};
}

bool is_phrase_kind(std::string_view kind) {
    return kind == "text" || kind == "pair" || kind == "regex";
}

}  // namespace

std::string normalize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
            space = true;
            continue;
        }
        if (space && !out.empty())
            out.push_back(' ');
        space = false;
        out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
    }
    return out;
}

rule_set::rule_set(std::string_view tsv) : phrases_(reason_count), vetoes_(reason_count) {
    int line_no = 0;
    std::size_t pos = 0;
    while (pos < tsv.size()) {
        auto eol = tsv.find('\n', pos);
        auto line = tsv.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
        pos = eol == std::string_view::npos ? tsv.size() : eol + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.empty() || line.front() == '#')
            continue;
        auto cols = util::split_tabs(line);
        if (!cols.empty() && cols[0] == "rhost") {
            rule r;
            r.kind = "rhost";
            r.line = line_no;
            if (auto error = parse_rhost(cols, r); !error.empty()) {
                errors_.push_back(fmt::format("rules.tsv:{}: {}", line_no, error));
                continue;
            }
            add(std::move(r));
            continue;
        }
        bool lhost_row = !cols.empty() && names_mtas(cols[0]);
        if (cols.size() == 4 && lhost_row)
            cols.pop_back();  // the MTA names, read below
        if (cols.size() != 3 || cols[2].empty()) {
            errors_.push_back(
                fmt::format("rules.tsv:{}: expected KIND<TAB>REASON<TAB>PATTERN", line_no)
            );
            continue;
        }
        rule r;
        r.kind = std::string(cols[0]);
        r.line = line_no;
        if (!valid_kind(r.kind)) {
            errors_.push_back(fmt::format("rules.tsv:{}: unknown kind \"{}\"", line_no, r.kind));
            continue;
        }
        if (r.kind == "command") {
            if (!valid_command(cols[1])) {
                errors_.push_back(
                    fmt::format("rules.tsv:{}: unknown command \"{}\"", line_no, cols[1])
                );
                continue;
            }
            r.command = std::string(cols[1]);
        } else if (cols[1] != "-") {
            auto why = parse_reason(cols[1]);
            if (!why) {
                errors_.push_back(
                    fmt::format("rules.tsv:{}: unknown reason \"{}\"", line_no, cols[1])
                );
                continue;
            }
            r.why = *why;
        }
        if (lhost_row) {
            auto all = util::split_tabs(line);
            if (all.size() == 4)
                for (auto mta : util::split(all[3], ','))
                    r.mtas.emplace_back(util::trim(mta));
        }
        if ((r.kind == "mtastatus" || r.kind == "category" || r.kind == "mtatext") &&
            r.mtas.empty()) {
            errors_.push_back(fmt::format("rules.tsv:{}: a {} row names its MTA", line_no, r.kind));
            continue;
        }
        if (r.kind == "regex" || r.kind == "lhostre" || r.kind == "mtastatus") {
            r.matching = rule::match_kind::expression;
            r.pattern = std::string(cols[2]);
            try {
                // The text is lower-cased before matching, so the patterns are written in lower
                // case and need no icase (which costs a locale look-up per character).
                r.compiled.emplace(r.pattern, std::regex::ECMAScript | std::regex::optimize);
                r.guards = guards_of(r.pattern);
            } catch (const std::regex_error& e) {
                errors_.push_back(fmt::format("rules.tsv:{}: bad regex: {}", line_no, e.what()));
                continue;
            }
        } else if (r.kind == "pair") {
            r.matching = rule::match_kind::fragments;
            r.fragments = split_fragments(cols[2]);
            if (r.fragments.size() < 2) {
                errors_.push_back(
                    fmt::format("rules.tsv:{}: a pair needs two fragments split by |", line_no)
                );
                continue;
            }
        } else if (r.kind == "status" || r.kind == "pseudo") {
            r.pattern = std::string(cols[2]);
        } else {
            r.pattern = normalize(cols[2]);
        }
        add(std::move(r));
    }
}

void rule_set::add(rule r) {
    auto index = rules_.size();
    auto slot = std::find_if(kinds_.begin(), kinds_.end(), [&](const auto& k) {
        return k.first == r.kind;
    });
    if (slot == kinds_.end())
        slot = kinds_.insert(kinds_.end(), {r.kind, {}});
    slot->second.push_back(index);
    if (is_phrase_kind(r.kind))
        phrases_[static_cast<std::size_t>(r.why)].push_back(index);
    else if (r.kind == "isnot")
        vetoes_[static_cast<std::size_t>(r.why)].push_back(index);
    rules_.push_back(std::move(r));
}

bool rule_set::phrase_in(const rule& r, std::string_view text) {
    if (r.matching == rule::match_kind::substring)
        return text.find(r.pattern) != std::string_view::npos;
    if (r.matching == rule::match_kind::fragments) {
        std::size_t at = 0;
        for (const auto& fragment : r.fragments) {
            at = text.find(fragment, at);
            if (at == std::string_view::npos)
                return false;
            at += fragment.size();
        }
        return true;
    }
    if (r.matching == rule::match_kind::expression) {
        if (!r.guards.empty() && std::none_of(r.guards.begin(), r.guards.end(), [&](const auto& g) {
                return text.find(g) != std::string_view::npos;
            }))
            return false;
        // libstdc++'s matcher recurses per character: bound the input, and treat a matcher
        // error as no match rather than let a hostile bounce stop classification.
        auto bounded = text.substr(0, max_regex_input);
        try {
            return std::regex_search(bounded.begin(), bounded.end(), *r.compiled);
        } catch (const std::regex_error&) {
            return false;
        }
    }
    return false;
}

bool rule_set::says(reason why, std::string_view text) const {
    if (text.empty())
        return false;
    auto slot = static_cast<std::size_t>(why);
    for (auto i : vetoes_[slot])
        if (phrase_in(rules_[i], text))
            return false;
    for (auto i : phrases_[slot])
        if (phrase_in(rules_[i], text))
            return true;
    return false;
}

std::optional<rule_set::match_result> rule_set::match(std::string_view text) const {
    if (text.empty())
        return std::nullopt;
    for (const auto& r : rules_)
        if (is_phrase_kind(r.kind) && phrase_in(r, text) && says(r.why, text))
            return match_result{r.why};
    return std::nullopt;
}

const std::vector<std::size_t>& rule_set::of_kind(std::string_view kind) const {
    static const std::vector<std::size_t> none;
    for (const auto& [name, rows] : kinds_)
        if (name == kind)
            return rows;
    return none;
}

std::optional<reason> rule_set::lhost(std::string_view text) const {
    if (text.empty())
        return std::nullopt;
    for (std::string_view kind : {"lhost", "lhostre"})
        for (auto i : of_kind(kind))
            if (phrase_in(rules_[i], text))
                return rules_[i].why;
    return std::nullopt;
}

std::string rule_set::command(std::string_view text) const {
    // The last command named is the one that was refused: "MAIL FROM ... 250 ok RCPT TO ... 550".
    std::string found;
    std::size_t found_at = 0;
    for (auto i : of_kind("command")) {
        const auto& r = rules_[i];
        auto at = text.rfind(r.pattern);
        if (at != std::string_view::npos && (found.empty() || at >= found_at)) {
            found = r.command;
            found_at = at;
        }
    }
    return found;
}

std::optional<reason> rule_set::for_status(std::string_view status) const {
    if (status.empty())
        return std::nullopt;
    const auto& rows = of_kind("status");
    for (auto i : rows)
        if (!rules_[i].pattern.starts_with("x.") && status_matches(rules_[i].pattern, status))
            return rules_[i].why;
    for (auto i : rows)
        if (rules_[i].pattern.starts_with("x.") && status_matches(rules_[i].pattern, status))
            return rules_[i].why;
    return std::nullopt;
}

std::string rule_set::pseudo_status(reason r, bool temporary) const {
    for (auto i : of_kind("pseudo"))
        if (rules_[i].why == r)
            return fmt::format("{}.0.{}", temporary ? 4 : 5, rules_[i].pattern);
    return temporary ? "4.0.900" : "5.0.900";
}

bool rule_set::any(std::string_view kind, std::string_view text, bool prefix) const {
    for (auto i : of_kind(kind)) {
        const auto& r = rules_[i];
        if (prefix ? text.starts_with(r.pattern) : text.find(r.pattern) != std::string_view::npos)
            return true;
    }
    return false;
}

bool rule_set::is_marker(std::string_view line) const {
    return any("marker", line, true);
}

bool rule_set::is_autoreply(std::string_view subject) const {
    return any("autoreply", subject, false);
}

bool rule_set::is_bounce_subject(std::string_view subject) const {
    return any("bounce", subject, false);
}

bool rule_set::is_delayed(std::string_view text) const {
    return any("delayed", text, false);
}

namespace {

thread_local const rule_set* replacement = nullptr;

}  // namespace

const rule_set& rules() {
    static const rule_set parsed{embedded_rules()};
    return replacement ? *replacement : parsed;
}

scoped_rules::scoped_rules(const rule_set& r) : previous_(replacement) {
    replacement = &r;
}

scoped_rules::~scoped_rules() {
    replacement = previous_;
}

std::optional<reason> rule_set::rhost(
    std::string_view host, std::string_view status, std::string_view command, std::string_view text
) const {
    if (host.empty())
        return std::nullopt;
    for (auto i : of_kind("rhost")) {
        const auto& r = rules_[i];
        if (std::none_of(r.hosts.begin(), r.hosts.end(), [&](const auto& h) {
                return host_under(host, h);
            }))
            continue;
        if ((!r.status.empty() && r.status != status) ||
            (!r.command.empty() && r.command != command) ||
            (!r.pattern.empty() && text.find(r.pattern) == std::string_view::npos))
            continue;
        return r.why;
    }
    return std::nullopt;
}

namespace {

// The reason of the first of these rows that `mta` writes and `matches` accepts.
template <class Match>
std::optional<reason> first_written_by(
    const std::vector<rule>& rules,
    const std::vector<std::size_t>& rows,
    std::string_view mta,
    Match matches
) {
    for (auto i : rows) {
        const auto& r = rules[i];
        if (std::find(r.mtas.begin(), r.mtas.end(), mta) != r.mtas.end() && matches(r))
            return r.why;
    }
    return std::nullopt;
}

}  // namespace

std::optional<reason> rule_set::mta_status(std::string_view mta, std::string_view status) const {
    // A status code is a few characters; a Status: field of anything else matches no row.
    if (status.empty() || status.size() > 16)
        return std::nullopt;
    return first_written_by(rules_, of_kind("mtastatus"), mta, [&](const rule& r) {
        return phrase_in(r, status);
    });
}

std::optional<reason> rule_set::category(std::string_view mta, std::string_view name) const {
    auto wanted = normalize(name);
    return first_written_by(rules_, of_kind("category"), mta, [&](const rule& r) {
        return r.pattern == wanted;
    });
}

std::optional<reason> rule_set::mta_text(std::string_view mta, std::string_view normalized) const {
    return first_written_by(rules_, of_kind("mtatext"), mta, [&](const rule& r) {
        return phrase_in(r, normalized);
    });
}

std::string rules_without(std::string_view tsv, std::string_view mta) {
    std::string out;
    std::size_t pos = 0;
    while (pos < tsv.size()) {
        auto eol = tsv.find('\n', pos);
        auto line = tsv.substr(pos, eol == std::string_view::npos ? eol : eol - pos + 1);
        pos = eol == std::string_view::npos ? tsv.size() : eol + 1;
        auto cols = util::split_tabs(util::trim(line));
        bool drop = false;
        if (cols.size() == 4 && names_mtas(cols[0]))
            for (auto name : util::split(cols[3], ','))
                drop = drop || util::trim(name) == mta;
        if (cols.size() == 7 && cols[0] == "rhost")
            drop = util::trim(cols[2]) == mta;
        if (!drop)
            out.append(line);
    }
    return out;
}

}  // namespace outpost::bounce::detail
