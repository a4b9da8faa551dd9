// Textual edits of outpost.toml: lines located with toml++'s source positions.
#include "config/edit.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace outpost::config {

namespace {

// Lines with their line ends, so unchanged lines are copied byte for byte.
std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        end = end == std::string_view::npos ? text.size() : end + 1;
        lines.emplace_back(text.substr(start, end - start));
        start = end;
    }
    return lines;
}

std::string_view indentation(std::string_view line) {
    return line.substr(0, line.find_first_not_of(" \t"));
}

// One change to the lines, at 0-based line `line`: replace lines [first, line] or insert after
// `line`.
struct operation {
    std::size_t first = 0;
    std::size_t line = 0;
    bool insert = false;
    std::string text;  // whole lines, each ending with the file's line end
};

load_error error_at(const std::string& file, const toml::source_region& where, std::string what) {
    return load_error{
        fmt::format("{}:{}:{}: {}", file, where.begin.line, where.begin.column, std::move(what))};
}

}  // namespace

std::variant<std::string, load_error> edit_table_array(
    std::string_view text,
    const std::string& file,
    std::string_view array,
    const std::vector<table_edit>& edits
) {
    toml::table doc;
    try {
        doc = toml::parse(text, file);
    } catch (const toml::parse_error& e) {
        return error_at(file, e.source(), std::string(e.description()));
    }
    auto lines = split_lines(text);
    const std::string eol = !lines.empty() && lines[0].ends_with("\r\n") ? "\r\n" : "\n";
    auto* tables = doc.get_as<toml::array>(array);
    std::vector<operation> ops;
    for (const auto& edit : edits) {
        const toml::table* table = nullptr;
        if (tables && edit.index < tables->size())
            table = tables->get(edit.index)->as_table();
        if (!table)
            return load_error{
                fmt::format("{}: there is no [[{}]] table number {}", file, array, edit.index + 1)};
        if (table->is_inline())
            return error_at(
                file, table->source(),
                fmt::format("this [[{}]] entry is an inline table; edit it by hand", array)
            );
        // The table's last key line: values end there (a multi-line array ends at its ']').
        std::size_t last = table->source().begin.line;
        for (const auto& [key, value] : *table)
            if (!value.is_table() || value.as_table()->is_inline())
                last = std::max<std::size_t>(last, value.source().end.line);
        std::string appended;
        auto line_for = [&](const std::string& key, const std::string& value,
                            std::string_view indent) {
            auto l = fmt::format("{}{} = {}", indent, key, value);
            if (!edit.comment.empty())
                l += "  " + edit.comment;
            return l + eol;
        };
        for (const auto& [key, value] : edit.set) {
            if (const auto* node = table->get(key)) {
                auto first = node->source().begin.line - 1;
                auto end = node->source().end.line - 1;
                ops.push_back({first, end, false, line_for(key, value, indentation(lines[first]))});
            } else {
                appended += line_for(key, value, indentation(lines[last - 1]));
            }
        }
        for (const auto& l : split_lines(edit.after))
            appended += l.ends_with('\n') ? l.substr(0, l.size() - 1) + eol : l + eol;
        if (!appended.empty())
            ops.push_back({last - 1, last - 1, true, appended});
    }
    // From the bottom up, so earlier line numbers stay valid; at one line, insert after it first.
    std::stable_sort(ops.begin(), ops.end(), [](const operation& a, const operation& b) {
        if (a.line != b.line)
            return a.line > b.line;
        return a.insert && !b.insert;
    });
    for (const auto& op : ops) {
        if (op.insert) {
            if (!lines[op.line].ends_with('\n'))
                lines[op.line] += eol;
            lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(op.line) + 1, op.text);
        } else {
            auto keep_end = lines[op.line].ends_with('\n');
            auto replacement = keep_end ? op.text : op.text.substr(0, op.text.size() - eol.size());
            lines.erase(
                lines.begin() + static_cast<std::ptrdiff_t>(op.first),
                lines.begin() + static_cast<std::ptrdiff_t>(op.line) + 1
            );
            lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(op.first), replacement);
        }
    }
    std::string out;
    for (const auto& l : lines)
        out += l;
    return out;
}

}  // namespace outpost::config
