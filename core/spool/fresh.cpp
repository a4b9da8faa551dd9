#include "core/spool/fresh.hpp"

#include <utility>

namespace outpost::spool {

void fresh_files::put(const std::string& id, std::string file) {
    forget(id);
    if (file.size() > largest || file.size() > limits_.bytes || limits_.files == 0)
        return;
    // order_ is bounded too: taken ids stay in it until they reach the front.
    while (!order_.empty() &&
           (files_.size() >= limits_.files || order_.size() >= 2 * limits_.files ||
            bytes_ + file.size() > limits_.bytes))
        drop_oldest();
    bytes_ += file.size();
    files_.emplace(id, std::move(file));
    order_.push_back(id);
}

std::optional<std::string> fresh_files::take(const std::string& id) {
    auto it = files_.find(id);
    if (it == files_.end())
        return std::nullopt;
    auto file = std::move(it->second);
    bytes_ -= file.size();
    files_.erase(it);
    return file;
}

void fresh_files::forget(const std::string& id) {
    take(id);
}

void fresh_files::drop_oldest() {
    auto id = std::move(order_.front());
    order_.pop_front();
    take(id);
}

}  // namespace outpost::spool
