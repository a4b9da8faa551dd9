#include "server/outpostctl/queue_select.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <unistd.h>

#include "core/spool/layout.hpp"
#include "core/spool/queue_id.hpp"
#include "core/spool/record.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/api_view.hpp"

namespace outpost::ctl {

namespace {

// The envelope sender of a spooled message; nullopt when it is gone or unreadable.
std::optional<std::string> sender_of(const std::string& spool_dir, const std::string& id) {
    auto text = spool::read_file(spool::layout{spool_dir}.message(id));
    auto rec = text ? spool::parse(*text) : std::nullopt;
    if (!rec)
        return std::nullopt;
    return rec->env.reverse_path;
}

bool add_id(selection& s, std::set<std::string>& seen, const std::string& id) {
    if (!spool::valid_queue_id(id)) {
        fmt::print(stderr, "outpostctl: \"{}\" is not a queue id\n", id);
        return false;
    }
    if (seen.insert(id).second)
        s.ids.push_back(id);
    return true;
}

}  // namespace

std::optional<selection> select_messages(
    context& ctx, const boost::json::value& listing, const std::string& spool_dir
) {
    auto domain = ctx.take_option("--domain");
    auto sender = ctx.take_option("--sender");
    bool all = ctx.take_flag("--all");
    selection s;
    std::set<std::string> seen;
    bool by_filter = all || domain || sender;
    if (by_filter && !ctx.args.empty()) {
        fmt::print(stderr, "outpostctl: give queue ids or --all/--domain/--sender, not both\n");
        return std::nullopt;
    }
    for (const auto& arg : ctx.args) {
        if (arg == "-") {
            std::string line;
            while (std::getline(std::cin, line)) {
                auto id = std::string(util::trim(line));
                if (!id.empty() && !add_id(s, seen, id))
                    return std::nullopt;
            }
        } else if (!add_id(s, seen, arg)) {
            return std::nullopt;
        }
    }
    if (!by_filter)
        return s;
    s.bulk = true;
    const auto& jobs = field(listing, "jobs");
    if (!jobs.is_array())
        return s;
    for (const auto& j : jobs.get_array()) {
        auto id = text_of(field(j, "id"));
        if (seen.count(id))
            continue;
        if (domain && !util::iequals(text_of(field(j, "destination")), *domain))
            continue;
        if (sender) {
            auto from = sender_of(spool_dir, id);
            if (!from || !util::iequals(*from, *sender == "<>" ? "" : *sender))
                continue;
        }
        seen.insert(id);
        s.ids.push_back(id);
    }
    return s;
}

bool confirmed(bool yes, const std::string& verb, std::size_t count) {
    if (yes)
        return true;
    if (!::isatty(STDIN_FILENO)) {
        fmt::print(
            stderr, "outpostctl: {} {} message{}: add --yes (no terminal to ask)\n", verb, count,
            count == 1 ? "" : "s"
        );
        return false;
    }
    fmt::print(stderr, "{} {} message{}? [y/N] ", verb, count, count == 1 ? "" : "s");
    std::string answer;
    std::getline(std::cin, answer);
    return answer == "y" || answer == "Y" || answer == "yes";
}

std::vector<std::vector<std::string>> summary_rows(const boost::json::value& listing) {
    constexpr std::array<std::int64_t, 9> bounds{5, 10, 20, 40, 80, 160, 320, 640, 1280};
    using counts = std::array<std::size_t, bounds.size() + 2>;  // total, buckets..., older
    std::map<std::string, counts> by_destination;
    std::map<std::string, std::set<std::string>> seen;  // a message counts once per destination
    auto now = int_of(field(listing, "now"));
    const auto& jobs = field(listing, "jobs");
    if (jobs.is_array()) {
        for (const auto& j : jobs.get_array()) {
            auto destination = text_of(field(j, "destination"));
            if (!seen[destination].insert(text_of(field(j, "id"))).second)
                continue;
            auto minutes = (now - int_of(field(j, "arrived"))) / 60;
            auto bucket = static_cast<std::size_t>(
                std::upper_bound(bounds.begin(), bounds.end(), minutes) - bounds.begin()
            );
            for (const auto& key : {destination, std::string("TOTAL")}) {
                auto& row = by_destination[key];
                ++row[0];
                ++row[1 + bucket];
            }
        }
    }
    std::vector<std::pair<std::string, counts>> ordered(
        by_destination.begin(), by_destination.end()
    );
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
        if ((a.first == "TOTAL") != (b.first == "TOTAL"))
            return a.first == "TOTAL";
        return a.second[0] > b.second[0];
    });
    std::vector<std::vector<std::string>> rows{{"DESTINATION", "T"}};
    for (auto b : bounds)
        rows[0].push_back(fmt::format("{}m", b));
    rows[0].push_back(fmt::format("{}m+", bounds.back()));
    for (const auto& [name, c] : ordered) {
        std::vector<std::string> row{name};
        for (auto n : c)
            row.push_back(std::to_string(n));
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace outpost::ctl
