// DKIM key files as outpostctl writes them.
#include "server/outpostctl/dkim_keys.hpp"

#include <cerrno>
#include <cstring>

#include <boost/json/array.hpp>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/doctor/checks.hpp"

namespace outpost::ctl {

std::variant<dkim::private_key, std::string> create_key_file(
    dkim::algorithm algo, unsigned bits, const std::string& path, std::optional<file_owner> owner
) {
    auto generated = dkim::private_key::generate(algo, bits);
    if (auto* e = std::get_if<std::string>(&generated))
        return *e;
    auto key = std::get<dkim::private_key>(std::move(generated));
    auto pem = key.pem();
    // O_EXCL: never replace a key that may already be published; fchmod: whatever the umask.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return "cannot create " + path + ": " + std::strerror(errno);
    bool ok = ::fchmod(fd, 0600) == 0 && (!owner || ::fchown(fd, owner->uid, owner->gid) == 0) &&
              ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) &&
              ::fsync(fd) == 0;
    auto error = errno;
    ok = ::close(fd) == 0 && ok;
    if (!ok || pem.empty()) {
        ::unlink(path.c_str());
        return "cannot write " + path + ": " + std::strerror(error);
    }
    return key;
}

std::optional<std::optional<file_owner>> resolve_owner(
    const std::optional<std::string>& owner_option, std::string* error
) {
    auto lookup = [](const std::string& name) -> std::optional<file_owner> {
        if (const auto* pw = ::getpwnam(name.c_str()))
            return file_owner{pw->pw_uid, pw->pw_gid};
        return std::nullopt;
    };
    if (owner_option) {
        if (auto o = lookup(*owner_option))
            return std::optional<file_owner>(*o);
        if (error)
            *error = "--owner " + *owner_option + ": no such user";
        return std::nullopt;
    }
    if (::geteuid() == 0)
        return std::optional<file_owner>(lookup("outpost"));
    return std::optional<file_owner>();
}

bool give_to(const std::string& path, const std::optional<file_owner>& owner) {
    return !owner || ::chown(path.c_str(), owner->uid, owner->gid) == 0;
}

std::string key_record_line(
    const std::string& domain, const std::string& selector, const dkim::private_key& key
) {
    return doctor::txt_line(selector + "._domainkey." + domain, key.dns_record());
}

boost::json::object key_record_json(
    const std::string& domain, const std::string& selector, const dkim::private_key& key
) {
    auto record = key.dns_record();
    boost::json::array strings;
    for (std::size_t i = 0; i < record.size(); i += 255)
        strings.emplace_back(record.substr(i, 255));
    return {
        {"record_name", selector + "._domainkey." + domain},
        {"record", record},
        {"txt_strings", std::move(strings)},
    };
}

}  // namespace outpost::ctl
