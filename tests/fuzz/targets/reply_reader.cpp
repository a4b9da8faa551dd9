// The SMTP client's reply parser (core/smtp/client.hpp reply_reader) and the EHLO keyword reader.
// The input is what a server sends, split into lines at LF as the delivery loop does.
#include <string>

#include "core/smtp/client.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace outpost;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto text = fuzz::as_text(data, size);
    smtp::reply_reader reader(8);
    while (!text.empty()) {
        auto lf = text.find('\n');
        auto line = text.substr(0, lf);
        text = lf == std::string_view::npos ? std::string_view{} : text.substr(lf + 1);
        if (line.ends_with('\r'))
            line.remove_suffix(1);
        switch (reader.feed(line)) {
            case smtp::reply_reader::status::more:
                break;
            case smtp::reply_reader::status::malformed:
                reader = smtp::reply_reader(8);
                break;
            case smtp::reply_reader::status::complete: {
                auto r = reader.take();
                FUZZ_CHECK(r.code >= 200 && r.code <= 599);
                if (!r.enhanced.empty())
                    FUZZ_CHECK(r.enhanced[0] == static_cast<char>('0' + r.code / 100));
                (void)r.summary();
                (void)r.wire();
                if (r.code == 250)
                    (void)smtp::extensions::parse(r);
                break;
            }
        }
    }
    return 0;
}
