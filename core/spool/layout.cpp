#include "core/spool/layout.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/spool/queue_id.hpp"

namespace outpost::spool {

namespace fs = std::filesystem;

std::optional<std::string> read_file(const std::filesystem::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;

    // Read straight into a string of the file's size (one byte more, so that the read that sees
    // the end needs no room of its own); it grows if results are appended meanwhile.
    struct stat st {};

    std::string out(::fstat(fd, &st) == 0 ? static_cast<std::size_t>(st.st_size) + 1 : 4096, '\0');
    std::size_t length = 0;
    for (;;) {
        if (length == out.size())
            out.resize(2 * out.size());
        auto n = ::read(fd, out.data() + length, out.size() - length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0)
            break;
        length += static_cast<std::size_t>(n);
    }
    ::close(fd);
    out.resize(length);
    return out;
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

std::vector<std::string> list_queue(const layout& l, std::set<std::string>* held) {
    std::vector<std::string> ids;
    constexpr std::string_view hold_suffix = ".hold";
    for (const auto& entry : fs::directory_iterator(l.queue())) {
        auto name = entry.path().filename().string();
        if (valid_queue_id(name))
            ids.push_back(std::move(name));
        else if (held && name.ends_with(hold_suffix))
            held->insert(name.substr(0, name.size() - hold_suffix.size()));
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace outpost::spool
