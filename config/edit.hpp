// Textual edits of outpost.toml that keep every comment and the layout, so that the file an
// operator wrote stays the single truth when a tool (outpostctl dkim rotate) changes it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "config/load.hpp"

namespace outpost::config {

// A change to one table of an array of tables ([[dkim]]), counted from 0 in file order, which is
// the order config::load() reads them in.
struct table_edit {
    std::size_t index = 0;
    // key and TOML value text ("false", "\"s2\""). A key the table has gets its line(s) replaced
    // by `key = value`; a key it lacks gets that line after the table's last key.
    std::vector<std::pair<std::string, std::string>> set;
    std::string comment;  // appended to each line written for set, e.g. "# retired 2026-11-24"
    std::string after;    // lines inserted after the table's last key: a new table, for instance
};

// Applies edits to the [[array]] tables of text. Lines outside the edited ones are unchanged, byte
// for byte. Errors, as "FILE:LINE:COL: message": text does not parse, an index has no table, or
// the table is inline (`array = [{...}]`, which cannot take lines). The result is not validated
// against the schema: load it (load_string) before using it.
std::variant<std::string, load_error> edit_table_array(
    std::string_view text,
    const std::string& file,
    std::string_view array,
    const std::vector<table_edit>& edits
);

}  // namespace outpost::config
