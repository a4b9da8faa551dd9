// How outpostctl commands plug in: each *_command.cpp registers its top-level word.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.hpp"

namespace outpost::ctl {

// Exit codes scripts can trust.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  // the operation ran and failed (verification failed, ...)
inline constexpr int exit_usage = 2;    // bad arguments or a bad config file
inline constexpr int exit_daemon_down = 3;  // needs the running daemon, and it is not reachable

struct context {
    std::optional<std::string> config_path;
    std::string format = "table";   // table | json | tsv | csv, as each command allows
    std::vector<std::string> args;  // after the command word

    // Loads the config named by --config (or the default path); prints the error and exits 2.
    const config::config& config();

    // Removes "--name VALUE" from args and returns VALUE; nullopt when absent.
    std::optional<std::string> take_option(std::string_view name);
    // Removes "--name" from args and says whether it was there.
    bool take_flag(std::string_view name);
    // take_option() for a whole number; a value that is not one is a usage error naming the
    // option (exit 2).
    std::optional<std::size_t> take_count(std::string_view name);

private:
    std::optional<config::config> config_;
};

using command_fn = std::function<int(context&)>;

struct registration {
    registration(std::string word, std::string summary, std::string usage, command_fn run);
};

}  // namespace outpost::ctl
