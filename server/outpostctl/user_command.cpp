// outpostctl user add|remove|list: the users file that SMTP AUTH checks.
#include <iostream>
#include <string>
#include <variant>

#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include "core/listener/users.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

// The password from the terminal (asked twice, not echoed) or the first line of stdin.
std::optional<std::string> read_password() {
    if (!::isatty(STDIN_FILENO)) {
        std::string line;
        if (!std::getline(std::cin, line))
            return std::nullopt;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        return line;
    }
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::string first, second;
    std::cerr << "Password: " << std::flush;
    std::getline(std::cin, first);
    std::cerr << "\nAgain: " << std::flush;
    std::getline(std::cin, second);
    std::cerr << "\n";
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    if (first != second) {
        std::cerr << "outpostctl: the passwords differ\n";
        return std::nullopt;
    }
    return first;
}

int run(context& ctx) {
    auto file_option = ctx.take_option("--file");
    if (ctx.args.empty()) {
        std::cerr << "usage: outpostctl user add NAME | remove NAME | list  [--file USERS]\n";
        return exit_usage;
    }
    std::string path;
    if (file_option) {
        path = *file_option;
    } else {
        path = ctx.config().auth.users_file;
        if (path.empty()) {
            std::cerr << "outpostctl: the config has no [auth] users_file (or pass --file)\n";
            return exit_usage;
        }
    }
    auto verb = ctx.args[0];
    auto loaded = listener::user_table::load(path, verb == "add");
    if (auto* error = std::get_if<std::string>(&loaded)) {
        std::cerr << "outpostctl: " << *error << "\n";
        return exit_failure;
    }
    auto& table = std::get<listener::user_table>(loaded);
    if (verb == "list" && ctx.args.size() == 1) {
        if (ctx.format == "json") {
            std::string out = "[";
            for (const auto& [name, hash] : table.users())
                out += fmt::format("{}\"{}\"", out.size() > 1 ? "," : "", name);
            std::cout << out << "]\n";
        } else {
            for (const auto& [name, hash] : table.users())
                std::cout << name << "\n";
        }
        return exit_ok;
    }
    if (ctx.args.size() != 2 || (verb != "add" && verb != "remove")) {
        std::cerr << "usage: outpostctl user add NAME | remove NAME | list\n";
        return exit_usage;
    }
    const auto& name = ctx.args[1];
    if (verb == "remove") {
        if (!table.remove(name)) {
            std::cerr << fmt::format("outpostctl: no user \"{}\" in {}\n", name, path);
            return exit_failure;
        }
        table.save(path);
        std::cout << fmt::format(
            "removed {} from {}; send SIGHUP to outpostd (systemctl reload outpost)\n", name, path
        );
        return exit_ok;
    }
    if (!listener::valid_user_name(name)) {
        std::cerr << "outpostctl: a user name is 1-64 letters, digits and . _ - @ +\n";
        return exit_usage;
    }
    auto password = read_password();
    if (!password || password->empty()) {
        std::cerr << "outpostctl: no password given (type it, or pipe it on stdin)\n";
        return exit_usage;
    }
    bool existed = table.contains(name);
    table.set(name, listener::hash_password(*password));
    table.save(path);
    std::cout << fmt::format(
        "{} {} in {}; send SIGHUP to outpostd (systemctl reload outpost)\n",
        existed ? "updated" : "added", name, path
    );
    return exit_ok;
}

registration reg{
    "user", "manage SMTP AUTH users (add NAME, remove NAME, list)",
    "user add NAME | user remove NAME | user list   [--file USERS]  (password on stdin or asked)",
    run};

}  // namespace

}  // namespace outpost::ctl
