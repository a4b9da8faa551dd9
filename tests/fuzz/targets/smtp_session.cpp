// The SMTP command parser and server session state machine (core/smtp/session.hpp), driven as the
// listener's connection loop drives it. Byte 0 picks the session options, byte 1 how the client's
// bytes arrive (chunk size) and what the awaited actions come back with; the rest is the client.
#include <deque>
#include <string>

#include "core/smtp/session.hpp"
#include "core/util/text.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace outpost;

namespace {

void check_reply(const smtp::reply& r) {
    FUZZ_CHECK(r.code >= 200 && r.code <= 599);
    auto wire = r.wire();
    // A reply is whole CRLF lines: nothing the client sent can end a line or start another one.
    FUZZ_CHECK(!wire.empty() && fuzz::crlf_lines_only(wire));
    // Nothing but printable ASCII: no terminal escapes, DEL or 8-bit bytes echoed (issue 15 #4).
    for (char c : wire)
        FUZZ_CHECK((c >= 0x20 && c < 0x7f) || c == '\r' || c == '\n');
}

// What is spooled has addresses in valid UTF-8 (issue 15 #5) and no line breaks.
void check_envelope(const smtp::envelope& env) {
    auto sound = [](const std::string& a) {
        return util::valid_utf8(a) && a.find_first_of("\r\n") == std::string::npos;
    };
    FUZZ_CHECK(sound(env.reverse_path));
    for (const auto& r : env.recipients)
        FUZZ_CHECK(sound(r.address));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    const std::uint8_t flags = data[0];
    const std::uint8_t control = data[1];
    const auto client = fuzz::as_text(data + 2, size - 2);

    smtp::session_options o;
    o.hostname = "test.example";
    o.client_address = "192.0.2.1";
    o.client_trusted = (flags & 0x01) != 0;
    o.starttls_available = (flags & 0x02) != 0;
    o.tls_active = (flags & 0x04) != 0;
    o.auth = static_cast<smtp::auth_mode>(((flags >> 3) & 3) % 3);
    o.bounce_domain = "bounces.example.com";
    o.max_message_size = (flags & 0x20) ? 50 : 4096;
    o.max_recipients = 5;
    o.max_line_length = (flags & 0x40) ? 20 : 998;
    o.max_command_length = 512;
    o.max_errors = 10;
    o.max_commands = 500;
    o.max_junk_commands = 50;
    o.suppressed = [](const std::string& a) -> std::optional<std::string> {
        if (a.starts_with("gone@"))
            return "suppressed";
        return std::nullopt;
    };
    const bool storage_low = (flags & 0x80) != 0;
    o.storage_low = [storage_low] { return storage_low; };
    const auto max_size = o.max_message_size;

    smtp::session s(o);
    std::deque<smtp::action> todo;
    auto queue = [&](std::vector<smtp::action> more) {
        for (auto& a : more)
            todo.push_back(std::move(a));
    };
    queue(s.greet());

    // Bytes per read: 1..64, or everything at once.
    const std::size_t chunk = (control & 0x40) ? client.size() + 1 : (control & 0x3f) + 1u;
    std::string in;
    std::size_t pos = 0;
    unsigned results = control >> 7;
    bool timed_out = false;
    std::size_t steps = 0;
    for (;;) {
        // Every step consumes input, reads more or performs actions; a step that does none of
        // them forever is a hang.
        FUZZ_CHECK(++steps < 100000 + 20 * size);
        bool closing = false;
        while (!todo.empty()) {
            auto a = std::move(todo.front());
            todo.pop_front();
            if (auto* r = std::get_if<smtp::send_reply>(&a)) {
                check_reply(r->r);
            } else if (std::holds_alternative<smtp::close_connection>(a)) {
                closing = true;
                break;
            } else if (std::holds_alternative<smtp::start_tls>(a)) {
                // RFC 3207 §4.2: input pipelined after STARTTLS is discarded.
                in.clear();
                queue(s.on_tls_started("TLSv1.3 TLS_AES_256_GCM_SHA384"));
            } else if (std::get_if<smtp::authenticate>(&a)) {
                queue(s.on_auth_result(static_cast<smtp::auth_result>(results++ % 4)));
            } else if (auto* m = std::get_if<smtp::accept_message>(&a)) {
                // What the listener spools: never a bare CR or LF (smuggling), never over size.
                FUZZ_CHECK(fuzz::crlf_lines_only(m->content));
                FUZZ_CHECK(m->content.size() <= max_size);
                FUZZ_CHECK(!m->env.recipients.empty());
                check_envelope(m->env);
                smtp::message_result mr;
                mr.outcome = static_cast<smtp::message_result::kind>(results++ % 4);
                mr.queue_id = "Q1";
                mr.text = "refused by policy";
                queue(s.on_message_result(mr));
            }
        }
        if (closing || s.closed())
            break;
        if (!in.empty() && !s.waiting()) {
            auto r = s.on_input(in);
            FUZZ_CHECK(r.consumed <= in.size());
            if (r.consumed > 0 || !r.actions.empty()) {
                in.erase(0, r.consumed);
                queue(std::move(r.actions));
                continue;
            }
        }
        if (pos < client.size()) {
            auto n = std::min(chunk, client.size() - pos);
            in.append(client.substr(pos, n));
            pos += n;
            continue;
        }
        if (timed_out)
            break;
        // The client went quiet: the command or data timeout fires once.
        timed_out = true;
        queue(s.on_timeout());
    }
    return 0;
}
