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

// The last holder of a text lets go: its entry leaves the pool, unless the pool already names
// another copy of the same text under that key.
void release(const std::string* s) {
    auto& p = the_pool();
    {
        std::lock_guard guard(p.mutex);
        if (auto it = p.texts.find(*s);
            it != p.texts.end() && it->second.expired() && it->first.data() == s->data())
            p.texts.erase(it);
    }
    delete s;
}

}  // namespace

std::shared_ptr<const std::string> shared_text::intern(std::string_view text) {
    if (text.empty())
        return nullptr;
    // Made before the lock is taken, so that whenever this copy is let go (not needed, or an
    // allocation below throws) release() runs after the lock is given back, never under it.
    std::shared_ptr<const std::string> fresh(new std::string(text), release);
    auto& p = the_pool();
    std::lock_guard lock(p.mutex);
    if (auto found = p.texts.find(text); found != p.texts.end()) {
        if (auto held = found->second.lock())
            return held;
        // Its last holder is letting go right now; its release() will find this entry and
        // leave it alone.
        p.texts.erase(found);
    }
    p.texts.emplace(*fresh, fresh);
    return fresh;
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
