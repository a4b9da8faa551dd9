#include "server/outpostd/bounce_setup.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/suppression/sqlite_store.hpp"
#include "core/util/text.hpp"

namespace outpost::daemon {

namespace {

std::string load_or_create_secret(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        // An existing secret that cannot be read is an error, never silently replaced: every
        // return path in flight would stop verifying.
        std::ifstream in(path);
        std::string secret;
        if (!in || !std::getline(in, secret) || util::trim(secret).empty())
            throw std::runtime_error(fmt::format("{}: cannot read the VERP secret", path.string()));
        return std::string(util::trim(secret));
    }
    std::string bytes(32, '\0');
    if (RAND_bytes(
            reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())
        ) != 1)
        throw std::runtime_error("RAND_bytes failed");
    auto secret = util::base64_encode(bytes) + "\n";
    auto tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 &&
              ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) &&
              ::fsync(fd) == 0;
    if (fd >= 0)
        ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
        throw std::runtime_error(fmt::format("{}: cannot write the VERP secret", path.string()));
    int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    secret.pop_back();
    return secret;
}

}  // namespace

bounce_stores open_bounce_stores(const config::config& cfg) {
    bounce_stores s;
    std::filesystem::path dir = cfg.server.spool_dir;
    std::string error;
    auto list = suppression::sqlite_store::open((dir / "suppression.sqlite").string(), &error);
    if (!list)
        throw std::runtime_error(fmt::format("{}: {}", (dir / "suppression.sqlite").string(), error)
        );
    list->set_soft_ttl(
        std::chrono::duration_cast<std::chrono::seconds>(cfg.bounce.soft_suppression_ttl).count()
    );
    s.list = std::move(list);
    s.state = suppression::bounce_state::open((dir / "bounce-state.sqlite").string(), &error);
    if (!s.state)
        throw std::runtime_error(
            fmt::format("{}: {}", (dir / "bounce-state.sqlite").string(), error)
        );
    if (!cfg.bounce.domain.empty())
        s.secrets.push_back(
            cfg.bounce.secret.empty() ? load_or_create_secret(dir / "verp.secret")
                                      : cfg.bounce.secret
        );
    return s;
}

}  // namespace outpost::daemon
