// outpostctl bounce classify: the daemon's bounce classifier over files, for operators and tests;
// outpostctl bounce parts: how its MIME reader reads them.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "core/bounce/classifier.hpp"
#include "core/bounce/detail/mime.hpp"
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
    "usage: outpostctl bounce classify FILE... [--format tsv|json] [--bench N]\n"
    "       outpostctl bounce parts FILE...\n";

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

// The first 12 hex digits of the SHA-256 of the text with every run of white space made one
// space, so that two readers that differ only in line ends and trailing blanks agree.
std::string text_digest(std::string_view text) {
    std::string collapsed;
    bool space = false;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = !collapsed.empty();
            continue;
        }
        if (space)
            collapsed.push_back(' ');
        space = false;
        collapsed.push_back(c);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(collapsed.data(), collapsed.size(), md, &len, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned int i = 0; i < 6 && i < len; ++i)
        hex += fmt::format("{:02x}", md[i]);
    return hex;
}

// One line per MIME entity, depth first: depth, media type, charset, decoded size and digest
// of what the reader made of its body (text in UTF-8, other parts as bytes). For operators who
// wonder how a bounce was read, and for comparing the reader with another (scripts/mime-compare).
void print_parts(const bounce::detail::entity& e, int depth) {
    const auto& body = e.parts.empty() ? (e.data.empty() ? e.text : e.data) : std::string();
    fmt::print(
        "{}\t{}\t{}\t{}\t{}\n", depth, e.media_type, e.charset.empty() ? "-" : e.charset,
        body.size(), e.parts.empty() ? text_digest(body) : "-"
    );
    for (const auto& p : e.parts)
        print_parts(p, depth + 1);
}

int parts_of_files(context& ctx) {
    if (ctx.args.size() < 2) {
        fmt::print(stderr, "{}", usage_line);
        return exit_usage;
    }
    int rc = exit_ok;
    for (std::size_t i = 1; i < ctx.args.size(); ++i) {
        std::ifstream in(ctx.args[i], std::ios::binary);
        if (!in) {
            fmt::print(stderr, "outpostctl bounce parts: cannot read {}\n", ctx.args[i]);
            rc = exit_failure;
            continue;
        }
        std::ostringstream raw;
        raw << in.rdbuf();
        fmt::print("# {}\n", tsv_field(ctx.args[i]));
        print_parts(bounce::detail::parse_entity(raw.str()), 0);
    }
    return rc;
}

int run(context& ctx) {
    if (!ctx.args.empty() && ctx.args[0] == "classify")
        return classify_files(ctx);
    if (!ctx.args.empty() && ctx.args[0] == "parts")
        return parts_of_files(ctx);
    fmt::print(stderr, "{}", usage_line);
    return exit_usage;
}

const registration reg{
    "bounce", "classify bounce messages (DSNs, ARF reports, non-standard bounces)",
    "usage: outpostctl bounce classify FILE... [--format tsv|json] [--bench N]\n"
    "  Prints one line per recipient the bounce names: file, recipient, status, reason,\n"
    "  hard|soft (tsv), or one JSON object per line with the suppression decision too.\n"
    "  Reads the files only; needs neither the daemon nor a config file.\n"
    "  --bench N classifies N bounces taken from the files in turn and prints only the time.\n"
    "usage: outpostctl bounce parts FILE...\n"
    "  Prints how the classifier's MIME reader reads each file: one line per entity, depth\n"
    "  first: depth, media type, charset, decoded size, digest of the decoded body.\n",
    run};

}  // namespace

}  // namespace outpost::ctl
