#include "core/smtp/command.hpp"

#include "core/util/text.hpp"

namespace outpost::smtp {

command parse_command(std::string_view line) {
    auto space = line.find(' ');
    auto word = line.substr(0, space);
    std::string_view args =
        space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    while (!args.empty() && (args.back() == ' ' || args.back() == '\t'))
        args.remove_suffix(1);
    while (!args.empty() && args.front() == ' ')
        args.remove_prefix(1);
    static constexpr std::pair<std::string_view, verb> verbs[] = {
        {"EHLO", verb::ehlo},         {"HELO", verb::helo}, {"MAIL", verb::mail},
        {"RCPT", verb::rcpt},         {"DATA", verb::data}, {"BDAT", verb::bdat},
        {"RSET", verb::rset},         {"NOOP", verb::noop}, {"QUIT", verb::quit},
        {"VRFY", verb::vrfy},         {"EXPN", verb::expn}, {"HELP", verb::help},
        {"STARTTLS", verb::starttls}, {"AUTH", verb::auth},
    };
    for (auto [text, v] : verbs)
        if (util::iequals(word, text))
            return command{v, args};
    return command{verb::unknown, args};
}

std::optional<path_and_params> split_path_and_params(
    std::string_view args, std::string_view prefix
) {
    if (!util::istarts_with(args, prefix))
        return std::nullopt;
    args.remove_prefix(prefix.size());
    while (!args.empty() && args.front() == ' ')
        args.remove_prefix(1);
    if (args.empty())
        return std::nullopt;
    path_and_params out;
    std::size_t end;
    if (args.front() == '<') {
        // The path ends at the first '>' outside a quoted local part.
        bool quoted = false;
        end = std::string_view::npos;
        for (std::size_t i = 1; i < args.size(); ++i) {
            if (args[i] == '\\' && quoted) {
                ++i;
            } else if (args[i] == '"') {
                quoted = !quoted;
            } else if (args[i] == '>' && !quoted) {
                end = i + 1;
                break;
            }
        }
        if (end == std::string_view::npos)
            return std::nullopt;
    } else {
        end = args.find(' ');
        if (end == std::string_view::npos)
            end = args.size();
    }
    out.path = args.substr(0, end);
    auto rest = args.substr(end);
    if (!rest.empty() && rest.front() != ' ')
        return std::nullopt;
    for (auto piece : util::split(rest, ' ')) {
        if (piece.empty())
            continue;
        auto eq = piece.find('=');
        std::string key(piece.substr(0, eq));
        for (auto& c : key)
            c = static_cast<char>(c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c);
        std::string value =
            eq == std::string_view::npos ? std::string{} : std::string(piece.substr(eq + 1));
        if (key.empty())
            return std::nullopt;
        out.params.emplace_back(std::move(key), std::move(value));
    }
    return out;
}

std::optional<std::string> decode_xtext(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '+') {
            if (i + 2 >= s.size())
                return std::nullopt;
            auto hex = [](char h) -> int {
                if (h >= '0' && h <= '9')
                    return h - '0';
                if (h >= 'A' && h <= 'F')
                    return h - 'A' + 10;
                return -1;
            };
            int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
            if (hi < 0 || lo < 0)
                return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c < 33 || c > 126 || c == '=') {
            return std::nullopt;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::optional<std::string> decode_printable_xtext(std::string_view s) {
    auto decoded = decode_xtext(s);
    if (!decoded)
        return std::nullopt;
    for (char c : *decoded)
        if (c < 0x20 || c > 0x7e)
            return std::nullopt;
    return decoded;
}

std::string encode_xtext(std::string_view s) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 33 || c > 126 || c == '+' || c == '=') {
            out += '+';
            out += digits[c >> 4];
            out += digits[c & 15];
        } else {
            out += ch;
        }
    }
    return out;
}

}  // namespace outpost::smtp
