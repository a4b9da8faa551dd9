#include "core/spool/layout.hpp"

#include <algorithm>

#include "core/spool/queue_id.hpp"

namespace outpost::spool {

namespace fs = std::filesystem;

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
