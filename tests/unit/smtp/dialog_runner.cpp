#include "dialog_runner.hpp"

#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::test {

std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        char n = s[++i];
        if (n == 'r')
            out += '\r';
        else if (n == 'n')
            out += '\n';
        else if (n == 't')
            out += '\t';
        else if (n == 'x' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else
            out += n;
    }
    return out;
}

namespace {

smtp::session_options parse_options(const std::string& line) {
    smtp::session_options o;
    o.hostname = "test.example";
    o.client_address = "192.0.2.1";
    o.auth = smtp::auth_mode::optional;
    for (auto word : util::split(line, ' ')) {
        auto eq = word.find('=');
        auto key = word.substr(0, eq);
        std::string value(eq == std::string_view::npos ? "" : word.substr(eq + 1));
        if (key == "trusted")
            o.client_trusted = true;
        else if (key == "auth")
            o.auth = value == "none"       ? smtp::auth_mode::none
                     : value == "required" ? smtp::auth_mode::required
                                           : smtp::auth_mode::optional;
        else if (key == "tls") {
            o.starttls_available = value == "starttls";
            o.tls_active = value == "implicit";
        } else if (key == "max_errors")
            o.max_errors = static_cast<unsigned>(std::stoul(value));
        else if (key == "max_recipients")
            o.max_recipients = static_cast<unsigned>(std::stoul(value));
        else if (key == "max_size")
            o.max_message_size = std::stoull(value);
        else if (key == "max_line")
            o.max_line_length = std::stoul(value);
        else if (key == "bounce")
            o.bounce_domain = value;
        else if (key == "suppressed")
            o.suppressed = [value](const std::string& a) -> std::optional<std::string> {
                if (a == value)
                    return std::string("suppressed (test)");
                return std::nullopt;
            };
    }
    return o;
}

struct driver {
    smtp::session session;
    std::string input;
    std::deque<std::string> reply_lines;
    std::vector<smtp::accept_message> accepted;
    int queued = 0;

    explicit driver(smtp::session_options o) : session(std::move(o)) { perform(session.greet()); }

    void perform(std::vector<smtp::action> actions) {
        for (auto& a : actions) {
            if (auto* r = std::get_if<smtp::send_reply>(&a)) {
                auto wire = r->r.wire();
                for (auto line : util::split(wire, '\n'))
                    if (!line.empty())
                        reply_lines.emplace_back(line.substr(0, line.size() - 1));
            } else if (std::get_if<smtp::start_tls>(&a)) {
                input.clear();  // pipelined plaintext after STARTTLS is dropped
                perform(session.on_tls_started("TLSv1.3 TEST"));
            } else if (auto* au = std::get_if<smtp::authenticate>(&a)) {
                bool ok = au->user == "alice" && au->password == "secret";
                perform(session.on_auth_result(
                    ok ? smtp::auth_result::success : smtp::auth_result::failure
                ));
            } else if (auto* m = std::get_if<smtp::accept_message>(&a)) {
                accepted.push_back(std::move(*m));
                perform(session.on_message_result(
                    {smtp::message_result::kind::queued, fmt::format("Q{}", ++queued), {}}
                ));
            }
        }
    }

    void feed(const std::string& bytes) {
        input += bytes;
        while (!session.closed()) {
            auto r = session.on_input(input);
            input.erase(0, r.consumed);
            if (r.consumed == 0 && r.actions.empty())
                break;
            perform(std::move(r.actions));
        }
    }
};

}  // namespace

dialog_result run_dialog(const std::string& text) {
    auto lines = util::split(text, '\n');
    std::string options;
    if (!lines.empty() && lines[0].starts_with("# options:"))
        options = std::string(lines[0].substr(10));
    driver d(parse_options(options));
    auto fail = [](std::size_t n, std::string what) {
        return dialog_result{false, fmt::format("line {}: {}", n + 1, what)};
    };
    for (std::size_t n = 0; n < lines.size(); ++n) {
        auto line = lines[n];
        if (line.empty() || line.starts_with('#'))
            continue;
        auto tag = line.substr(0, 2);
        auto body = std::string(line.size() > 3 ? line.substr(3) : std::string_view{});
        if (tag == "C:") {
            d.feed(body + "\r\n");
        } else if (tag == "C!") {
            d.feed(unescape(body));
        } else if (tag == "S:") {
            if (d.reply_lines.empty())
                return fail(n, fmt::format("expected reply \"{}\", got none", body));
            auto got = d.reply_lines.front();
            d.reply_lines.pop_front();
            if (!got.starts_with(body))
                return fail(n, fmt::format("expected reply \"{}\", got \"{}\"", body, got));
        } else if (tag == "M:") {
            if (d.accepted.empty())
                return fail(n, "no message was accepted");
            if (d.accepted.back().content != unescape(body))
                return fail(n, fmt::format("message was \"{}\"", d.accepted.back().content));
        } else if (tag == "R:") {
            if (d.accepted.empty())
                return fail(n, "no message was accepted");
            std::string got;
            for (const auto& r : d.accepted.back().env.recipients)
                got += (got.empty() ? "" : ",") + r.address;
            if (got != body)
                return fail(n, fmt::format("recipients were \"{}\"", got));
        } else if (tag == "X:") {
            if (!d.session.closed())
                return fail(n, "session is still open");
        } else {
            return fail(n, fmt::format("unknown directive \"{}\"", line));
        }
    }
    if (!d.reply_lines.empty())
        return dialog_result{
            false,
            fmt::format("unexpected reply \"{}\" after the last line", d.reply_lines.front())};
    return {};
}

}  // namespace outpost::test
