#include "core/util/shared_text.hpp"

#include <mutex>
#include <unordered_map>

namespace outpost::util {

namespace {

// Each text once, by its contents. An entry leaves with the last holder of its text; the key
// points into the text it names.
struct pool {
    std::mutex mutex;
    std::unordered_map<std::string_view, std::weak_ptr<const std::string>> texts;
};

pool& the_pool() {
    static auto* p = new pool;  // never destroyed: holders may outlive static destruction
    return *p;
}

}  // namespace

std::shared_ptr<const std::string> shared_text::intern(std::string_view text) {
    if (text.empty())
        return nullptr;
    auto& p = the_pool();
    std::lock_guard lock(p.mutex);
    if (auto found = p.texts.find(text); found != p.texts.end()) {
        if (auto held = found->second.lock())
            return held;
        // Its last holder is letting go right now; its deleter will find a live entry and
        // leave it alone.
        p.texts.erase(found);
    }
    std::shared_ptr<const std::string> held(new std::string(text), [](const std::string* s) {
        auto& q = the_pool();
        {
            std::lock_guard guard(q.mutex);
            if (auto it = q.texts.find(*s);
                it != q.texts.end() && it->second.expired() && it->first.data() == s->data())
                q.texts.erase(it);
        }
        delete s;
    });
    p.texts.emplace(*held, held);
    return held;
}

std::size_t shared_text::pool_size() {
    auto& p = the_pool();
    std::lock_guard lock(p.mutex);
    return p.texts.size();
}

const std::string& shared_text::empty_string() {
    static const std::string empty;
    return empty;
}

}  // namespace outpost::util
