// Which messages a bulk queue command acts on, and the qshape-like summary: pure over the queue
// listing (/api/v1/queue JSON, or the same built from the spool), plus the spool files for
// --sender.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

struct selection {
    std::vector<std::string> ids;  // each once, in listing order
    bool bulk = false;             // chosen by --all, --domain or --sender (needs confirmation)
};

// The messages named by the arguments: queue ids, "-" for ids on standard input (one per line),
// or --all, --domain D, --sender S (the envelope sender, read from the spool files) taken from
// listing. Prints why and returns nullopt on a usage error.
std::optional<selection> select_messages(
    context& ctx, const boost::json::value& listing, const std::string& spool_dir
);

// A bulk change goes ahead with --yes, or when a person at a terminal answers y.
bool confirmed(bool yes, const std::string& verb, std::size_t count);

// Messages by destination and age, as Postfix's qshape shows them: one row per destination
// (most messages first), columns T (total) and age buckets 5m 10m 20m 40m 80m 160m 320m 640m
// 1280m 1280m+.
std::vector<std::vector<std::string>> summary_rows(const boost::json::value& listing);

}  // namespace outpost::ctl
