#include "server/outpostd/bounce_setup.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include "core/suppression/sqlite_store.hpp"
#include "core/util/text.hpp"

namespace outpost::daemon {

namespace {

std::string load_or_create_secret(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string secret;
    if (in && std::getline(in, secret) && !util::trim(secret).empty())
        return std::string(util::trim(secret));
    std::string bytes(32, '\0');
    if (RAND_bytes(
            reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())
        ) != 1)
        throw std::runtime_error("RAND_bytes failed");
    secret = util::base64_encode(bytes);
    auto tmp = path;
    tmp += ".tmp";
    {
        auto old = ::umask(077);
        std::ofstream out(tmp);
        ::umask(old);
        out << secret << "\n";
        if (!out.flush())
            throw std::runtime_error(fmt::format("{}: cannot write the VERP secret", tmp.string()));
    }
    std::filesystem::rename(tmp, path);
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
