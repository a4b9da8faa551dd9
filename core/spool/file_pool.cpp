#include "core/spool/file_pool.hpp"

namespace outpost::spool {

bool file_pool::fits(std::uint64_t size) const {
    return files() < limits_.files && size <= limits_.file_size && bytes_ + size <= limits_.bytes;
}

void file_pool::retired(std::string id, std::uint64_t size) {
    bytes_ += size;
    unsynced_.push_back({std::move(id), size});
}

void file_pool::directory_synced() {
    for (auto& e : unsynced_)
        reusable_.push_back(std::move(e));
    unsynced_.clear();
}

std::optional<std::string> file_pool::take() {
    if (reusable_.empty())
        return std::nullopt;
    auto e = std::move(reusable_.front());
    reusable_.pop_front();
    bytes_ -= e.size;
    return std::move(e.id);
}

std::vector<std::string> file_pool::drain() {
    std::vector<std::string> names;
    for (auto& e : unsynced_)
        names.push_back(std::move(e.id));
    for (auto& e : reusable_)
        names.push_back(std::move(e.id));
    unsynced_.clear();
    reusable_.clear();
    bytes_ = 0;
    return names;
}

}  // namespace outpost::spool
