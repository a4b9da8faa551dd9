// The bounce parser and classifier (outpost::bounce::classify_message): MIME, RFC 3464 DSNs, ARF,
// auto-replies, the non-standard formats of rules.tsv and Amazon SES JSON. The input is a message.
#include "core/bounce/classifier.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace outpost;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    for (const auto& c : bounce::classify_message(text)) {
        // One line each, as the log and the suppression list take them.
        FUZZ_CHECK(c.diagnostic.find('\n') == std::string::npos);
        FUZZ_CHECK(c.recipient.find('\n') == std::string::npos);
    }
    // The same reply text as a synchronous reply to RCPT and DATA.
    smtp::reply r;
    r.code = 550;
    r.text = std::string(text.substr(0, 2000));
    (void)bounce::classify(r, bounce::reply_phase::rcpt);
    (void)bounce::classify(r, bounce::reply_phase::data);
    return 0;
}
