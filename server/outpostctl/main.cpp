// outpostctl: the operator's command line; each top-level word lives in its own *_command.cpp.
#include <algorithm>
#include <cstdio>
#include <map>
#include <variant>

#include <fmt/format.h>

#include "config/load.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

struct entry {
    std::string summary;
    std::string usage;
    command_fn run;
};

std::map<std::string, entry>& commands() {
    static std::map<std::string, entry> all;
    return all;
}

constexpr const char* default_config = "/etc/outpost/outpost.toml";

void print_usage(std::FILE* out) {
    fmt::print(
        out, "usage: outpostctl [--config FILE] [--format table|json] COMMAND ...\n\ncommands:\n"
    );
    for (const auto& [word, e] : commands())
        fmt::print(out, "  {:<12} {}\n", word, e.summary);
    fmt::print(out, "\n'outpostctl COMMAND --help' shows a command's usage.\n");
}

}  // namespace

registration::registration(
    std::string word, std::string summary, std::string usage, command_fn run
) {
    commands()[std::move(word)] = entry{std::move(summary), std::move(usage), std::move(run)};
}

const config::config& context::config() {
    if (!config_) {
        auto path = config_path.value_or(default_config);
        auto r = config::load(path);
        if (auto* e = std::get_if<config::load_error>(&r)) {
            fmt::print(stderr, "{}\n", e->message);
            std::exit(exit_usage);
        }
        config_ = std::move(std::get<config::config>(r));
    }
    return *config_;
}

std::optional<std::string> context::take_option(std::string_view name) {
    for (auto it = args.begin(); it != args.end(); ++it) {
        if (*it == name) {
            if (it + 1 == args.end()) {
                fmt::print(stderr, "outpostctl: {} needs a value\n", name);
                std::exit(exit_usage);
            }
            auto value = *(it + 1);
            args.erase(it, it + 2);
            return value;
        }
        auto prefix = std::string(name) + "=";
        if (it->starts_with(prefix)) {
            auto value = it->substr(prefix.size());
            args.erase(it);
            return value;
        }
    }
    return std::nullopt;
}

bool context::take_flag(std::string_view name) {
    auto it = std::find(args.begin(), args.end(), name);
    if (it == args.end())
        return false;
    args.erase(it);
    return true;
}

}  // namespace outpost::ctl

int main(int argc, char** argv) {
    using namespace outpost::ctl;
    context ctx;
    std::vector<std::string> rest(argv + 1, argv + argc);
    ctx.args = rest;
    // Global options may come before or after the command word.
    if (auto v = ctx.take_option("--config"))
        ctx.config_path = *v;
    if (auto v = ctx.take_option("--format"))
        ctx.format = *v;
    if (ctx.args.empty() || ctx.args[0] == "--help" || ctx.args[0] == "-h" ||
        ctx.args[0] == "help") {
        print_usage(ctx.args.empty() ? stderr : stdout);
        return ctx.args.empty() ? exit_usage : exit_ok;
    }
    auto word = ctx.args[0];
    ctx.args.erase(ctx.args.begin());
    auto it = commands().find(word);
    if (it == commands().end()) {
        fmt::print(stderr, "outpostctl: unknown command \"{}\"\n", word);
        print_usage(stderr);
        return exit_usage;
    }
    if (std::find(ctx.args.begin(), ctx.args.end(), "--help") != ctx.args.end()) {
        fmt::print("{}", it->second.usage);
        return exit_ok;
    }
    try {
        return it->second.run(ctx);
    } catch (const std::exception& e) {
        fmt::print(stderr, "outpostctl {}: {}\n", word, e.what());
        return exit_failure;
    }
}
