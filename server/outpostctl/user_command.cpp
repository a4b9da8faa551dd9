// outpostctl user add|remove|list: the users file that SMTP AUTH checks.
#include <iostream>
#include <string>
#include <variant>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include "core/listener/users.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"
#include "server/outpostctl/dkim_keys.hpp"

namespace outpost::ctl {

namespace {

namespace json = boost::json;

constexpr const char* usage =
    "usage: outpostctl user add NAME | remove NAME | list  [--file USERS] [--owner USER]\n"
    "                                                       [--format table|json]\n"
    "  add asks for the password twice on a terminal, or reads the first line of stdin. list\n"
    "  prints one name a line, or with --format json {\"users_file\":F,\"users\":[{\"name\":N}]}\n"
    "  (never the password hashes); add and remove print {\"action\":\"added\"|\"updated\"|\n"
    "  \"removed\",\"name\":N,\"users_file\":F}. Exit 1 when the file cannot be read or the\n"
    "  user to remove does not exist, 2 on bad arguments. add and remove leave the file (mode\n"
    "  0600) to USER, or, run as root with a service user outpost, to outpost.\n";

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
    auto owner_option = ctx.take_option("--owner");
    std::string owner_error;
    auto owner = resolve_owner(owner_option, &owner_error);
    if (!owner) {
        std::cerr << "outpostctl user: " << owner_error << "\n";
        return exit_usage;
    }
    if (ctx.args.empty()) {
        std::cerr << usage;
        return exit_usage;
    }
    if (bad_format(ctx))
        return exit_usage;
    bool as_json = ctx.format == "json";
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
        if (as_json) {
            json::array users;
            for (const auto& [name, hash] : table.users())
                users.push_back(json::object{{"name", name}});
            print_json(json::object{{"users_file", path}, {"users", std::move(users)}});
        } else {
            for (const auto& [name, hash] : table.users())
                std::cout << name << "\n";
        }
        return exit_ok;
    }
    if (ctx.args.size() != 2 || (verb != "add" && verb != "remove")) {
        std::cerr << usage;
        return exit_usage;
    }
    // A sentence for people, or one JSON object for scripts.
    auto done = [&](const char* action, const std::string& name) {
        if (as_json) {
            print_json(json::object{{"action", action}, {"name", name}, {"users_file", path}});
            return;
        }
        std::cout << fmt::format(
            "{} {} {} {}; send SIGHUP to outpostd (systemctl reload outpost)\n", action, name,
            std::string_view(action) == "removed" ? "from" : "in", path
        );
    };
    const auto& name = ctx.args[1];
    if (verb == "remove") {
        if (!table.remove(name)) {
            std::cerr << fmt::format("outpostctl: no user \"{}\" in {}\n", name, path);
            return exit_failure;
        }
        table.save(path);
        give_to(path, *owner);
        done("removed", name);
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
    if (!give_to(path, *owner))
        std::cerr << fmt::format("outpostctl: warning: cannot give {} to its owner\n", path);
    done(existed ? "updated" : "added", name);
    return exit_ok;
}

registration reg{"user", "manage SMTP AUTH users (add NAME, remove NAME, list)", usage, run};

}  // namespace

}  // namespace outpost::ctl
