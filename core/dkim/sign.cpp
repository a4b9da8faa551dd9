// DKIM signing (RFC 6376 §5, RFC 8463).
#include "core/dkim/sign.hpp"

#include <algorithm>

#include "core/dkim/detail/signature.hpp"
#include "core/util/text.hpp"

namespace outpost::dkim {

const std::vector<std::string>& default_signed_headers() {
    static const std::vector<std::string> list = {
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "reply-to",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "feedback-id"};
    return list;
}

const std::vector<std::string>& default_oversigned_headers() {
    static const std::vector<std::string> list = {"from", "subject", "to",
                                                  "cc",   "date",    "reply-to"};
    return list;
}

std::vector<std::string> signed_header_list(
    std::span<const message::header_field> fields, const sign_options& options
) {
    std::vector<std::string> names = options.headers;
    if (std::find(names.begin(), names.end(), "from") == names.end())
        names.insert(names.begin(), "from");
    for (const auto& o : options.oversign)
        if (std::find(names.begin(), names.end(), o) == names.end())
            names.push_back(o);
    std::vector<std::string> out;
    out.reserve(names.size() * 2);
    for (std::size_t k = 0; k < names.size(); ++k) {
        const auto& name = names[k];
        if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(k), name) !=
            names.begin() + static_cast<std::ptrdiff_t>(k))
            continue;  // listed twice in the configuration: count it once
        auto n = message::count_fields(fields, name);
        if (std::find(options.oversign.begin(), options.oversign.end(), name) !=
            options.oversign.end())
            ++n;
        for (std::size_t i = 0; i < n; ++i)
            out.push_back(name);
    }
    return out;
}

std::string make_signature(
    std::span<const message::header_field> fields,
    const sha256_digest& body_hash,
    const signing_key& key,
    const sign_options& options
) {
    auto h = signed_header_list(fields, options);
    detail::field_writer w("DKIM-Signature");
    w.tag("v", "1");
    w.tag("a", to_string(key.key.algo()));
    w.tag("c", std::string(to_string(options.header_canon)) + "/" + to_string(options.body_canon));
    w.tag("d", key.domain);
    w.tag("s", key.selector);
    w.tag("t", std::to_string(options.time));
    if (options.expiration)
        w.tag("x", std::to_string(options.time + *options.expiration));
    w.list_tag("h", h);
    w.base64_tag(
        "bh", util::base64_encode(std::string_view(
                  reinterpret_cast<const char*>(body_hash.data()), body_hash.size()
              ))
    );
    const std::string& unsigned_field = w.begin_b();
    auto selected = detail::select_fields(fields, h);
    auto data = detail::signed_data(selected, options.header_canon, unsigned_field);
    auto b = key.key.sign(data);
    if (b.empty())
        return {};
    return w.finish_b(util::base64_encode(b));
}

std::string sign(
    const message::message_view& message,
    std::span<const signing_key> keys,
    const sign_options& options
) {
    std::string out;
    if (keys.empty())
        return out;
    auto bh = detail::body_hash(options.body_canon, message.body);
    for (const auto& k : keys) {
        auto field = make_signature(message.fields, bh, k, options);
        if (field.empty())
            return {};
        out += field;
    }
    return out;
}

}  // namespace outpost::dkim
