#include "core/spool/layout.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "core/spool/queue_id.hpp"

namespace outpost::spool {

namespace fs = std::filesystem;

std::optional<std::string> read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return std::move(ss).str();
}

namespace {

// Makes a directory's entries durable (a new subdirectory in it, for one).
void sync_directory(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        throw fs::filesystem_error("open", dir, std::error_code(errno, std::system_category()));
    int rc = ::fsync(fd);
    int error = errno;
    ::close(fd);
    if (rc != 0)
        throw fs::filesystem_error("fsync", dir, std::error_code(error, std::system_category()));
}

}  // namespace

void prepare(const layout& l) {
    bool created = false;
    for (const auto& dir : {l.root, l.tmp(), l.queue()}) {
        if (fs::create_directories(dir)) {
            fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
            created = true;
        }
    }
    // A new spool's queue/ must itself survive a power cut, or every message acknowledged into
    // it would go with it.
    if (created) {
        sync_directory(l.root);
        sync_directory(l.root.parent_path().empty() ? fs::path(".") : l.root.parent_path());
    }
    for (const auto& entry : fs::directory_iterator(l.tmp()))
        fs::remove(entry.path());
}

std::vector<std::string> list_queue(const layout& l) {
    std::vector<std::string> ids;
    for (const auto& entry : fs::directory_iterator(l.queue())) {
        auto name = entry.path().filename().string();
        if (valid_queue_id(name))
            ids.push_back(std::move(name));
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace outpost::spool
