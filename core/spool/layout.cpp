#include "core/spool/layout.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

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

void prepare(const layout& l) {
    for (const auto& dir : {l.root, l.tmp(), l.queue()}) {
        if (fs::create_directories(dir))
            fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
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
