// outpostctl: the operator's command line; each top-level word lives in its own *_command.cpp.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
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

// The first argument that looks like an option ("--name" or "--name=value") and is not one the
// command's usage text names; nullopt when there is none. Every command lists all of its
// options in its usage, so this one check catches a misspelt or unknown option for all of them
// instead of each command ignoring what it does not take.
std::optional<std::string> unknown_option(
    const std::vector<std::string>& args, std::string_view usage
) {
    for (const auto& arg : args) {
        if (!arg.starts_with("--") || arg == "--")
            continue;
        auto name = std::string_view(arg).substr(0, arg.find('='));
        bool named = false;
        for (auto at = usage.find(name); at != std::string_view::npos && !named;
             at = usage.find(name, at + 1)) {
            auto after = at + name.size();
            named =
                after == usage.size() ||
                !(std::isalnum(static_cast<unsigned char>(usage[after])) || usage[after] == '-');
        }
        if (!named)
            return std::string(name);
    }
    return std::nullopt;
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

std::optional<std::size_t> context::take_count(std::string_view name) {
    auto value = take_option(name);
    if (!value)
        return std::nullopt;
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
    if (value->empty() || ec != std::errc{} || end != value->data() + value->size()) {
        fmt::print(stderr, "outpostctl: {} wants a whole number, not \"{}\"\n", name, *value);
        std::exit(exit_usage);
    }
    return n;
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
    if (auto option = unknown_option(ctx.args, it->second.usage)) {
        fmt::print(stderr, "outpostctl {}: unknown option {}\n{}", word, *option, it->second.usage);
        return exit_usage;
    }
    try {
        return it->second.run(ctx);
    } catch (const std::exception& e) {
        fmt::print(stderr, "outpostctl {}: {}\n", word, e.what());
        return exit_failure;
    }
}
