// outpostctl deliver-test: sends one message with the delivery engine to given addresses, for
// integration tests and for checking a next hop by hand. No spool, no queue, no DNS.
#include <charconv>
#include <fstream>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "core/delivery/delivery.hpp"
#include "core/delivery/targets.hpp"
#include "core/dns/destination.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

namespace {

namespace asio = boost::asio;

constexpr const char* usage =
    "usage: outpostctl deliver-test --target [HOST=]IP:PORT... --from ADDR --rcpt RCPT...\n"
    "       outpostctl deliver-test --domain D [--dns-server IP:PORT] [--port P] --from ...\n"
    "           --message FILE [--ehlo NAME] [--tls none|opportunistic|required]\n"
    "           [--source IP] [--ret full|hdrs] [--envid ID] [--smtputf8] [--8bitmime]\n"
    "           [--timeout DURATION] [--copies N] [--max-per-connection N]\n"
    "           [--format table|json]\n"
    "\n"
    "Delivers FILE (LF or CRLF lines) to the targets in order, as delivery does for one MX\n"
    "list (with --domain: the MX hosts of D as `outpostctl dns mx` finds them, on port P,\n"
    "default 25; a DNS failure is printed as every recipient's result), and prints each "
    "recipient's result and each connection tried. RCPT is an address,\n"
    "optionally followed by \" notify=SUCCESS,FAILURE,DELAY|NEVER\" and \" orcpt=rfc822;ADDR\".\n"
    "--from \"\" sends with the null reverse-path. --copies sends N copies as one batch (one\n"
    "connection carries several; JSON output is then an array). Exits 0 when every recipient\n"
    "was delivered.\n";

std::optional<delivery::target> parse_target(const std::string& text) {
    delivery::target t;
    std::string rest = text;
    if (auto eq = rest.find('='); eq != std::string::npos) {
        t.host = rest.substr(0, eq);
        rest = rest.substr(eq + 1);
    }
    auto colon = rest.rfind(':');
    if (colon == std::string::npos)
        return std::nullopt;
    auto ip = rest.substr(0, colon);
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']')
        ip = ip.substr(1, ip.size() - 2);
    boost::system::error_code ec;
    auto address = asio::ip::make_address(ip, ec);
    unsigned long port = 0;
    try {
        port = std::stoul(rest.substr(colon + 1));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (ec || port == 0 || port > 65535)
        return std::nullopt;
    t.endpoint = {address, static_cast<std::uint16_t>(port)};
    if (t.host.empty())
        t.host = address.to_string();
    return t;
}

std::optional<smtp::recipient> parse_rcpt(const std::string& text) {
    smtp::recipient r;
    auto words = util::split(text, ' ');
    r.address = std::string(words[0]);
    for (std::size_t i = 1; i < words.size(); ++i) {
        auto w = words[i];
        if (util::istarts_with(w, "notify=")) {
            for (auto n : util::split(w.substr(7), ',')) {
                if (util::iequals(n, "never"))
                    r.notify |= smtp::notify_never;
                else if (util::iequals(n, "success"))
                    r.notify |= smtp::notify_success;
                else if (util::iequals(n, "failure"))
                    r.notify |= smtp::notify_failure;
                else if (util::iequals(n, "delay"))
                    r.notify |= smtp::notify_delay;
                else
                    return std::nullopt;
            }
        } else if (util::istarts_with(w, "orcpt=")) {
            r.orcpt = std::string(w.substr(6));
        } else if (!w.empty()) {
            return std::nullopt;
        }
    }
    return r;
}

void print_json(const delivery::delivery_result& result) {
    fmt::print(
        "{{\"host\":{},\"address\":{},\"tls\":{},\"recipients\":[", json_string(result.host),
        json_string(result.address), json_string(result.tls)
    );
    for (std::size_t i = 0; i < result.recipients.size(); ++i) {
        const auto& r = result.recipients[i];
        fmt::print(
            "{}{{\"address\":{},\"outcome\":{},\"code\":{},\"enhanced\":{},\"reply\":{}}}",
            i ? "," : "", json_string(r.address), json_string(smtp::to_string(r.outcome)),
            r.response.code, json_string(r.response.enhanced), json_string(r.response.summary())
        );
    }
    fmt::print("],\"attempts\":[");
    for (std::size_t i = 0; i < result.attempts.size(); ++i) {
        const auto& a = result.attempts[i];
        fmt::print(
            "{}{{\"host\":{},\"address\":{},\"tls\":{},\"result\":{}}}", i ? "," : "",
            json_string(a.host), json_string(a.address), json_string(a.tls), json_string(a.result)
        );
    }
    fmt::print("]}}");
}

// Bare LF becomes CRLF: the spool holds CRLF lines, and so must what the client sends.
std::string to_crlf(const std::string& in) {
    std::string out;
    out.reserve(in.size() + in.size() / 40);
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
            out += '\r';
        out += in[i];
    }
    return out;
}

int usage_error(std::string_view what) {
    fmt::print(stderr, "outpostctl deliver-test: {}\n{}", what, usage);
    return exit_usage;
}

int run_deliver_test(context& ctx) {
    std::vector<delivery::target> targets;
    while (auto t = ctx.take_option("--target")) {
        auto parsed = parse_target(*t);
        if (!parsed)
            return usage_error("bad --target " + *t);
        targets.push_back(*parsed);
    }
    auto domain = ctx.take_option("--domain");
    dns::resolver_options resolver_options;
    while (auto server = ctx.take_option("--dns-server")) {
        auto colon = server->rfind(':');
        unsigned port = 0;
        auto digits = std::string_view(*server).substr(colon == std::string::npos ? 0 : colon + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (colon == std::string::npos || ec != std::errc{} ||
            end != digits.data() + digits.size() || port == 0 || port > 65535)
            return usage_error("--dns-server needs IP:PORT");
        resolver_options.servers.push_back(
            {server->substr(0, colon), static_cast<std::uint16_t>(port)}
        );
    }
    auto port_option = ctx.take_count("--port").value_or(25);
    if (port_option == 0 || port_option > 65535)
        return usage_error("--port must be 1 to 65535");
    auto port = static_cast<std::uint16_t>(port_option);
    if (domain && !targets.empty())
        return usage_error("--domain and --target exclude each other");
    delivery::message msg;
    auto from = ctx.take_option("--from");
    if (!from)
        return usage_error("--from is required");
    msg.mail_from = *from;
    while (auto r = ctx.take_option("--rcpt")) {
        auto parsed = parse_rcpt(*r);
        if (!parsed)
            return usage_error("bad --rcpt " + *r);
        msg.recipients.push_back(*parsed);
    }
    auto path = ctx.take_option("--message");
    if (!path || (targets.empty() && !domain) || msg.recipients.empty())
        return usage_error("--target (or --domain), --rcpt and --message are required");

    delivery::options opts;
    opts.ehlo_name = ctx.take_option("--ehlo").value_or("localhost");
    auto tls = ctx.take_option("--tls").value_or("opportunistic");
    if (tls == "none")
        opts.tls = delivery::tls_policy::none;
    else if (tls == "opportunistic")
        opts.tls = delivery::tls_policy::opportunistic;
    else if (tls == "required")
        opts.tls = delivery::tls_policy::required;
    else
        return usage_error("--tls must be none, opportunistic or required");
    if (auto s = ctx.take_option("--source")) {
        boost::system::error_code ec;
        opts.source = asio::ip::make_address(*s, ec);
        if (ec)
            return usage_error("bad --source " + *s);
    }
    std::optional<std::string> timeout;
    while (auto t = ctx.take_option("--timeout"))
        timeout = t;  // the last one wins, so scripts can override a common default
    if (auto t = timeout) {
        auto d = util::parse_duration(*t);
        if (!d)
            return usage_error("bad --timeout " + *t);
        auto& l = opts.limits;
        l.connect = l.greeting = l.command = l.tls_handshake = l.data_start = l.data_block =
            l.data_end = l.quit = *d;
    }
    if (auto ret = ctx.take_option("--ret")) {
        if (util::iequals(*ret, "full"))
            msg.ret = smtp::dsn_ret::full;
        else if (util::iequals(*ret, "hdrs"))
            msg.ret = smtp::dsn_ret::headers;
        else
            return usage_error("--ret must be full or hdrs");
    }
    msg.envid = ctx.take_option("--envid").value_or("");
    msg.smtputf8 = ctx.take_flag("--smtputf8");
    if (ctx.take_flag("--8bitmime"))
        msg.body = smtp::body_type::eight_bit_mime;

    std::ifstream in(*path, std::ios::binary);
    if (!in) {
        fmt::print(stderr, "outpostctl deliver-test: cannot read {}\n", *path);
        return exit_usage;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto content = to_crlf(ss.str());
    // Two buffers, split mid-line, so the body writer's buffer-sequence path is exercised.
    auto half = content.size() / 2;
    msg.content = {
        asio::buffer(content.data(), half),
        asio::buffer(content.data() + half, content.size() - half)};

    std::size_t copies = 1;
    if (auto c = ctx.take_count("--copies")) {
        copies = *c;
        if (copies == 0)
            return usage_error("--copies must be at least 1");
    }
    if (auto m = ctx.take_count("--max-per-connection"))
        opts.max_messages_per_connection = *m;
    if (!ctx.args.empty())
        return usage_error("unexpected argument " + ctx.args[0]);

    asio::io_context io;
    std::vector<delivery::delivery_result> results;
    std::exception_ptr failure;
    auto run = [&]() -> asio::awaitable<void> {
        std::vector<delivery::message> batch(copies, msg);
        if (domain) {
            auto r = dns::make_cares_resolver(io.get_executor(), resolver_options);
            auto route = co_await dns::resolve_destination(*r, *domain, dns::make_random_index());
            if (route.result != dns::outcome::ok) {
                // What the queue would record: the DNS verdict for every recipient.
                bool permanent = route.result == dns::outcome::permanent;
                smtp::reply why{permanent ? 550 : 451, route.enhanced, route.text};
                for (const auto& m : batch) {
                    delivery::delivery_result res;
                    for (const auto& rc : m.recipients)
                        res.recipients.push_back(
                            {rc.address,
                             permanent ? smtp::rcpt_outcome::permanent
                                       : smtp::rcpt_outcome::transient,
                             why}
                        );
                    results.push_back(std::move(res));
                }
                co_return;
            }
            targets = delivery::to_targets(route, port);
        }
        results = co_await delivery::deliver(io.get_executor(), targets, opts, std::move(batch));
    };
    asio::co_spawn(io, run, [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure)
        std::rethrow_exception(failure);

    bool all_delivered = true;
    for (const auto& result : results)
        for (const auto& r : result.recipients)
            all_delivered = all_delivered && r.outcome == smtp::rcpt_outcome::delivered;
    if (ctx.format == "json") {
        if (copies > 1)
            fmt::print("[");
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (i)
                fmt::print(",");
            print_json(results[i]);
        }
        fmt::print("{}\n", copies > 1 ? "]" : "");
    } else {
        for (const auto& result : results) {
            for (const auto& a : result.attempts)
                fmt::print(
                    "attempt {} {} tls={} {}\n", a.host, a.address, a.tls.empty() ? "no" : a.tls,
                    a.result
                );
            for (const auto& r : result.recipients)
                fmt::print(
                    "{} {} {}\n", r.address, smtp::to_string(r.outcome), r.response.summary()
                );
        }
    }
    return all_delivered ? exit_ok : exit_failure;
}

const registration deliver_test_registration{
    "deliver-test", "send one message to given addresses with the delivery engine", usage,
    run_deliver_test};

}  // namespace

}  // namespace outpost::ctl
