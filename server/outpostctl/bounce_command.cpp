// outpostctl bounce classify: the daemon's bounce classifier over files, for operators and tests.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

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

constexpr const char* usage_line =
    "usage: outpostctl bounce classify FILE... [--format tsv|json] [--bench N]\n";

// --bench N: classifies N bounces, taken from the files in turn, and prints the time it took.
// A benchmark for people, not a timed test: the files are read first, so only classification is
// timed, and nothing is printed per bounce.
int bench(const std::vector<std::string>& paths, std::size_t count) {
    std::vector<std::string> messages;
    for (const auto& path : paths) {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            fmt::print(stderr, "outpostctl bounce classify: cannot read {}\n", path);
            return exit_failure;
        }
        std::ostringstream raw;
        raw << in.rdbuf();
        messages.push_back(raw.str());
    }
    std::size_t recipients = 0;
    auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < count; ++i)
        recipients += bounce::classify_message(messages[i % messages.size()]).size();
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    fmt::print(
        "classified {} bounces ({} recipients) from {} files in {:.3f} s: {:.0f} bounces/s\n",
        count, recipients, messages.size(), took.count(),
        took.count() > 0 ? double(count) / took.count() : 0.0
    );
    return exit_ok;
}

int classify_files(context& ctx) {
    auto bench_count = ctx.take_count("--bench");
    auto format = ctx.format == "table" ? std::string("tsv") : ctx.format;
    if (format != "tsv" && format != "json") {
        fmt::print(stderr, "outpostctl bounce classify: --format must be tsv or json\n");
        return exit_usage;
    }
    if (ctx.args.size() < 2) {
        fmt::print(stderr, "{}", usage_line);
        return exit_usage;
    }
    if (bench_count)
        return bench({ctx.args.begin() + 1, ctx.args.end()}, *bench_count);
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
    fmt::print(stderr, "{}", usage_line);
    return exit_usage;
}

const registration reg{
    "bounce", "classify bounce messages (DSNs, ARF reports, non-standard bounces)",
    "usage: outpostctl bounce classify FILE... [--format tsv|json] [--bench N]\n"
    "  Prints one line per recipient the bounce names: file, recipient, status, reason,\n"
    "  hard|soft (tsv), or one JSON object per line with the suppression decision too.\n"
    "  Reads the files only; needs neither the daemon nor a config file.\n"
    "  --bench N classifies N bounces taken from the files in turn and prints only the time.\n",
    run};

}  // namespace

}  // namespace outpost::ctl
