// Parsing and matching of the classification rules table.
#include "core/bounce/detail/rules.hpp"

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::bounce::detail {

namespace {

bool valid_kind(std::string_view kind) {
    for (std::string_view k :
         {"text", "regex", "status", "pseudo", "marker", "autoreply", "delayed", "dataphase",
          "rcptphase", "refusal"})
        if (k == kind)
            return true;
    return false;
}

constexpr std::size_t max_regex_input = 16 * 1024;

bool status_matches(std::string_view pattern, std::string_view status) {
    if (pattern.starts_with("x.") && status.size() > 2)
        return pattern.substr(2) == status.substr(2);
    return pattern == status;
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

rule_set::rule_set(std::string_view tsv) {
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
        if (cols[1] != "-") {
            auto why = parse_reason(cols[1]);
            if (!why) {
                errors_.push_back(
                    fmt::format("rules.tsv:{}: unknown reason \"{}\"", line_no, cols[1])
                );
                continue;
            }
            r.why = *why;
        }
        if (r.kind == "regex") {
            r.pattern = std::string(cols[2]);
            try {
                r.compiled.emplace(
                    r.pattern, std::regex::ECMAScript | std::regex::icase | std::regex::optimize
                );
            } catch (const std::regex_error& e) {
                errors_.push_back(fmt::format("rules.tsv:{}: bad regex: {}", line_no, e.what()));
                continue;
            }
        } else if (r.kind == "status" || r.kind == "pseudo") {
            r.pattern = std::string(cols[2]);
        } else {
            r.pattern = normalize(cols[2]);
        }
        rules_.push_back(std::move(r));
    }
}

std::optional<rule_set::match_result> rule_set::match(std::string_view text) const {
    if (text.empty())
        return std::nullopt;
    for (const auto& r : rules_) {
        if (r.kind == "text") {
            if (text.find(r.pattern) != std::string_view::npos)
                return match_result{r.why, false};
        } else if (r.kind == "refusal") {
            if (text.find(r.pattern) != std::string_view::npos)
                return match_result{reason::userunknown, true};
        } else if (r.kind == "regex") {
            // libstdc++'s matcher recurses per character: bound the input, and treat a matcher
            // error as no match rather than let a hostile bounce stop classification.
            auto bounded = text.substr(0, max_regex_input);
            try {
                if (std::regex_search(bounded.begin(), bounded.end(), *r.compiled))
                    return match_result{r.why, false};
            } catch (const std::regex_error&) {
            }
        }
    }
    return std::nullopt;
}

std::optional<reason> rule_set::for_status(std::string_view status) const {
    if (status.empty())
        return std::nullopt;
    for (const auto& r : rules_)
        if (r.kind == "status" && !r.pattern.starts_with("x.") && status_matches(r.pattern, status))
            return r.why;
    for (const auto& r : rules_)
        if (r.kind == "status" && r.pattern.starts_with("x.") && status_matches(r.pattern, status))
            return r.why;
    return std::nullopt;
}

std::string rule_set::pseudo_status(reason r, bool temporary) const {
    for (const auto& row : rules_)
        if (row.kind == "pseudo" && row.why == r)
            return fmt::format("{}.0.{}", temporary ? 4 : 5, row.pattern);
    return temporary ? "4.0.900" : "5.0.900";
}

bool rule_set::any(std::string_view kind, std::string_view text, bool prefix) const {
    for (const auto& r : rules_) {
        if (r.kind != kind)
            continue;
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

bool rule_set::is_delayed(std::string_view text) const {
    return any("delayed", text, false);
}

bool rule_set::is_data_phase(std::string_view text) const {
    return any("dataphase", text, false);
}

bool rule_set::is_rcpt_phase(std::string_view text) const {
    return any("rcptphase", text, false);
}

const rule_set& rules() {
    static const rule_set parsed{embedded_rules()};
    return parsed;
}

}  // namespace outpost::bounce::detail
