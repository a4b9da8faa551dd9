// The DNS message parser (core/dns/detail/message.hpp) and the interpretation of a response. The
// input is a DNS message as received; the question interpreted is the one it carries.
#include <span>

#include "core/dns/detail/message.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace outpost;
namespace d = outpost::dns::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto m = d::parse_message(std::span<const std::uint8_t>(data, size));
    if (!m)
        return 0;
    auto check_name = [](const std::string& name) {
        // Names come out as safe text (\DDD escapes): never a control byte or 8-bit byte.
        for (char c : name) {
            auto ch = static_cast<unsigned char>(c);
            FUZZ_CHECK(ch > 0x20 && ch < 0x7f);
        }
    };
    for (const auto& q : m->questions)
        check_name(q.name);
    for (const auto* section : {&m->answers, &m->authorities}) {
        for (const auto& r : *section) {
            check_name(r.owner);
            FUZZ_CHECK(r.ttl < 0x80000000u);
            if (auto* n = std::get_if<d::name_rdata>(&r.data))
                check_name(n->name);
            if (auto* mx = std::get_if<d::mx_rdata>(&r.data))
                check_name(mx->exchange);
        }
    }
    for (std::uint16_t type :
         {d::rr_type::a, d::rr_type::aaaa, d::rr_type::mx, d::rr_type::txt, d::rr_type::ptr,
          d::rr_type::cname}) {
        std::string qname = m->questions.empty() ? "example.com" : m->questions.front().name;
        auto i = d::interpret(*m, qname, type);
        for (const auto* r : i.records)
            FUZZ_CHECK(r != nullptr);
        FUZZ_CHECK(i.ttl.count() >= 0);
    }
    return 0;
}
