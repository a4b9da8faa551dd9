// outpostctl bounce classify: the daemon's bounce classifier over files, for operators and tests.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/bounce/classifier.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

std::string tsv_field(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c == '\t' || c == '\n' || c == '\r')
            c = ' ';
    return out;
}

int classify_files(context& ctx) {
    auto format = ctx.format == "table" ? std::string("tsv") : ctx.format;
    if (format != "tsv" && format != "json") {
        fmt::print(stderr, "outpostctl bounce classify: --format must be tsv or json\n");
        return exit_usage;
    }
    if (ctx.args.size() < 2) {
        fmt::print(stderr, "usage: outpostctl bounce classify FILE... [--format tsv|json]\n");
        return exit_usage;
    }
    int rc = exit_ok;
    for (std::size_t i = 1; i < ctx.args.size(); ++i) {
        const auto& path = ctx.args[i];
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            fmt::print(stderr, "outpostctl bounce classify: cannot read {}\n", path);
            rc = exit_failure;
            continue;
        }
        std::ostringstream raw;
        raw << in.rdbuf();
        for (const auto& c : bounce::classify_message(raw.str())) {
            if (format == "json") {
                fmt::print(
                    "{{\"file\":{},\"recipient\":{},\"status\":{},\"reason\":\"{}\","
                    "\"severity\":\"{}\",\"suppression\":\"{}\",\"diagnostic\":{}}}\n",
                    json_string(path), json_string(c.recipient), json_string(c.status),
                    bounce::to_string(c.why), bounce::to_string(c.hardness),
                    bounce::to_string(bounce::suppression_for(c.why, c.status)),
                    json_string(c.diagnostic)
                );
            } else {
                fmt::print(
                    "{}\t{}\t{}\t{}\t{}\n", tsv_field(path), tsv_field(c.recipient),
                    tsv_field(c.status), bounce::to_string(c.why), bounce::to_string(c.hardness)
                );
            }
        }
    }
    return rc;
}

int run(context& ctx) {
    if (!ctx.args.empty() && ctx.args[0] == "classify")
        return classify_files(ctx);
    fmt::print(stderr, "usage: outpostctl bounce classify FILE... [--format tsv|json]\n");
    return exit_usage;
}

const registration reg{
    "bounce", "classify bounce messages (DSNs, ARF reports, non-standard bounces)",
    "usage: outpostctl bounce classify FILE... [--format tsv|json]\n"
    "  Prints one line per recipient the bounce names: file, recipient, status, reason,\n"
    "  hard|soft (tsv), or one JSON object per line with the suppression decision too.\n"
    "  Reads the files only; needs neither the daemon nor a config file.\n",
    run};

}  // namespace

}  // namespace outpost::ctl
