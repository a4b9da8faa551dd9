// Suppression entries: sources and address normalization.
#include "core/suppression/store.hpp"

#include <array>
#include <utility>

namespace outpost::suppression {

namespace {

constexpr std::array<std::pair<source, std::string_view>, 5> names{{
    {source::smtp_reply, "smtp-reply"},
    {source::dsn, "dsn"},
    {source::complaint, "complaint"},
    {source::manual, "manual"},
    {source::import, "import"},
}};

}  // namespace

std::string_view to_string(kind k) {
    return k == kind::soft ? "soft" : "hard";
}

std::optional<kind> parse_kind(std::string_view name) {
    if (name == "hard")
        return kind::hard;
    if (name == "soft")
        return kind::soft;
    return std::nullopt;
}

std::string_view to_string(source s) {
    for (const auto& [value, name] : names)
        if (value == s)
            return name;
    return "manual";
}

std::optional<source> parse_source(std::string_view name) {
    for (const auto& [value, text] : names)
        if (text == name)
            return value;
    return std::nullopt;
}

std::string normalize_address(std::string_view address) {
    while (!address.empty() && (address.front() == ' ' || address.front() == '\t'))
        address.remove_prefix(1);
    while (!address.empty() && (address.back() == ' ' || address.back() == '\t' ||
                                address.back() == '\r' || address.back() == '\n'))
        address.remove_suffix(1);
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>')
        address = address.substr(1, address.size() - 2);
    auto at = address.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == address.size())
        return {};
    for (char c : address)
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '<' || c == '>')
            return {};
    std::string out(address);
    for (std::size_t i = at + 1; i < out.size(); ++i)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = static_cast<char>(out[i] - 'A' + 'a');
    return out;
}

std::string match_key(std::string_view address) {
    auto key = normalize_address(address);
    for (char& c : key)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return key;
}

}  // namespace outpost::suppression
