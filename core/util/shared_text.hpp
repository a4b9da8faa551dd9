// Text that many objects repeat, held once: a destination that is down gives every queued job
// the same last reply, and a warming cap the same reason to wait. A million queued messages
// would otherwise hold a million copies of one sentence.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace outpost::util {

class shared_text {
public:
    shared_text() = default;

    shared_text(std::string_view text) : text_(intern(text)) {}  // NOLINT: as easy as a string

    shared_text(const char* text) : shared_text(std::string_view(text)) {}  // NOLINT

    shared_text(const std::string& text) : shared_text(std::string_view(text)) {}  // NOLINT

    shared_text& operator=(std::string_view text) {
        text_ = intern(text);
        return *this;
    }

    shared_text& operator=(const char* text) { return *this = std::string_view(text); }

    shared_text& operator=(const std::string& text) { return *this = std::string_view(text); }

    const std::string& str() const { return text_ ? *text_ : empty_string(); }

    operator const std::string&() const { return str(); }  // NOLINT: reads like the string

    bool empty() const { return !text_ || text_->empty(); }

    void clear() { text_.reset(); }

    friend bool operator==(const shared_text& a, std::string_view b) { return a.str() == b; }

    // Distinct texts held now, for tests.
    static std::size_t pool_size();

private:
    static std::shared_ptr<const std::string> intern(std::string_view text);
    static const std::string& empty_string();

    std::shared_ptr<const std::string> text_;
};

}  // namespace outpost::util
