// outpostctl dkim: key generation, and signing and verifying messages exactly as the daemon does.
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <fmt/format.h>

#include "core/dkim/detail/signature.hpp"
#include "core/dkim/key_store.hpp"
#include "core/dkim/signer.hpp"
#include "core/dkim/verify.hpp"
#include "core/dns/resolver.hpp"
#include "core/message/header.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/command.hpp"
#include "server/outpostctl/dkim_keys.hpp"

namespace outpost::ctl {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr const char* usage =
    "usage: outpostctl dkim keygen --domain D --selector S [--algorithm "
    "rsa-sha256|ed25519-sha256]\n"
    "                              [--bits N] [--out FILE] [--owner USER]\n"
    "       outpostctl --config F dkim sign [--auth-user U | --client-ip IP] [--time UNIX]\n"
    "                              [--keys FILE] [MESSAGE]\n"
    "       outpostctl [--config F] dkim verify [--keys FILE] [--time UNIX] [MESSAGE]\n"
    "       outpostctl dkim bench [--seconds S]\n"
    "       outpostctl [--config F] dkim rotate --domain D [--bits N] [--time UNIX]\n"
    "       outpostctl [--config F] dkim rotate --domain D --activate [--time UNIX]\n"
    "\n"
    "keygen writes a new private key (RSA 1024-4096 bits, 2048 by default, or Ed25519) with mode\n"
    "0600 to FILE (default D.S.pem; an existing file is never overwritten) and prints the DNS TXT\n"
    "record to publish, split into strings of at most 255 bytes. The file belongs to USER, or,\n"
    "when root runs keygen and the service user outpost exists, to outpost (the service must\n"
    "read it).\n"
    "\n"
    "sign reads MESSAGE (default standard input; bare LF line ends become CRLF, as SMTP would\n"
    "deliver them) and prints it as the daemon would spool it: with DKIM signatures from the\n"
    "[[dkim]] keys for its From: domain and an ARC set from [arc]. The client is the AUTH user U,\n"
    "or the address IP (default 127.0.0.1) checked against relay.allowed_networks. An incoming\n"
    "ARC chain and DKIM signatures are checked with key records from --keys FILE (lines of\n"
    "\"NAME RECORD\", e.g. \"s._domainkey.example.com v=DKIM1; k=rsa; p=...\") or else from DNS\n"
    "(delivery.dns_servers, or the system resolver). Exits 0 when signed, 1 when the message is\n"
    "printed unsigned (the reason goes to standard error), 2 on a bad config or key.\n"
    "\n"
    "verify checks every DKIM-Signature and the ARC chain of MESSAGE, one line each, and exits 0\n"
    "when the message has a DKIM signature, every one passes, and the chain (if any) passes; an\n"
    "unsigned message (dkim=none) exits 1.\n"
    "\n"
    "bench measures, on one core, DKIM signatures per second of the whole signer (parse, select,\n"
    "canonicalize, hash, sign, write the field) for 4 KB and 100 KB messages with RSA-2048 and\n"
    "Ed25519 keys, next to the raw private-key operation alone over the message's header data.\n"
    "canon+hash is what canonicalizing and hashing the body and canonicalizing the header fields\n"
    "add to the raw operation; signer is what the whole signer adds. All three are timed in\n"
    "alternating rounds for S seconds per message size and reported from each one's fastest\n"
    "round, so that other load on the machine does not skew them; compare the raw column with\n"
    "`openssl speed rsa2048 ed25519`.\n"
    "\n"
    "rotate writes the next key for each [[dkim]] entry that signs for D, under the selector\n"
    "rsa-YYYYMMDD or ed-YYYYMMDD (the UTC date of --time, default now; -2, -3, ... when taken), "
    "RSA\n"
    "as large as the current key and at least 2048 bits (or --bits N), mode 0600, next to the\n"
    "current key as D.SELECTOR.pem, and prints the TXT records to publish. Run again before\n"
    "activation, it prints the records of the keys already waiting.\n"
    "rotate --activate runs the doctor's DKIM check on each waiting key's record. Unless every "
    "one\n"
    "is published and matches its key it changes nothing, prints what DNS returned and exits 1.\n"
    "Otherwise it edits the config file in place (comments and layout kept; the previous file is\n"
    "kept as F.bak): each old entry gets sign = false (still loaded and checked, never signing)\n"
    "and the new entry follows it. Then run `systemctl reload outpost`, and remove the old "
    "records\n"
    "after the date it prints: now + delivery.max_lifetime + 7 days.\n"
    "\n"
    "--format json (global) makes keygen, verify, bench and rotate print one JSON object on\n"
    "standard output instead (messages to standard error and exit codes are unchanged). sign\n"
    "prints a message, so it refuses --format json (exit 2). Any format but table or json is a\n"
    "usage error (exit 2).\n";

// Reads a whole file ("-" or empty: standard input).
std::optional<std::string> read_all(const std::string& path) {
    if (path.empty() || path == "-") {
        std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        return s;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Bare LF line ends become CRLF; a missing final line end stays missing.
std::string to_crlf(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 32);
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            out += '\r';
        out += s[i];
    }
    return out;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
        return std::nullopt;
    return v;
}

// "NAME RECORD" lines; blank lines and lines starting with '#' are skipped.
std::optional<dkim::key_lookup> table_from_file(const std::string& path) {
    auto text = read_all(path);
    if (!text)
        return std::nullopt;
    std::map<std::string, dkim::key_answer> table;
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty() || line[0] == '#')
            continue;
        auto sp = line.find_first_of(" \t");
        if (sp == std::string::npos)
            continue;
        auto name = line.substr(0, sp);
        auto& answer = table[name];
        answer.state = dkim::key_answer::status::found;
        answer.records.push_back(line.substr(line.find_first_not_of(" \t", sp)));
    }
    return dkim::table_lookup(std::move(table));
}

// Resolves names with c-ares (delivery.dns_servers when a config is given) into a key table.
dkim::key_lookup dns_lookup(const std::vector<std::string>& names, const config::config* c) {
    std::map<std::string, dkim::key_answer> table;
    if (names.empty())
        return dkim::table_lookup(std::move(table));
    dns::resolver_options options;
    if (c)
        for (const auto& s : c->delivery.dns_servers)
            options.servers.push_back(dns::server_address{s.host, s.port});
    asio::io_context io;
    auto r = dns::make_cares_resolver(io.get_executor(), options);
    auto run = [&]() -> asio::awaitable<void> {
        for (const auto& name : names) {
            auto a = co_await r->txt(name);
            dkim::key_answer k;
            if (a.result == dns::status::ok) {
                k.state = dkim::key_answer::status::found;
                k.records = std::move(a.records);
            } else if (a.result == dns::status::nxdomain || a.result == dns::status::nodata) {
                k.state = dkim::key_answer::status::missing;
            }
            table[name] = std::move(k);
        }
    };
    std::exception_ptr failure;
    asio::co_spawn(io, run, [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure)
        std::rethrow_exception(failure);
    return dkim::table_lookup(std::move(table));
}

int keygen(context& ctx) {
    auto domain = ctx.take_option("--domain");
    auto selector = ctx.take_option("--selector");
    auto algo_text = ctx.take_option("--algorithm").value_or("rsa-sha256");
    auto bits_text = ctx.take_option("--bits");
    auto out_opt = ctx.take_option("--out");
    auto owner_opt = ctx.take_option("--owner");
    if (!domain || !selector || !ctx.args.empty()) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    auto out_path = out_opt.value_or(*domain + "." + *selector + ".pem");
    auto algo = dkim::parse_algorithm(algo_text);
    if (!algo) {
        fmt::print(stderr, "outpostctl dkim keygen: unknown algorithm \"{}\"\n", algo_text);
        return exit_usage;
    }
    unsigned bits = 2048;
    if (bits_text) {
        auto b = parse_int(*bits_text);
        if (!b || *b < dkim::min_rsa_bits || *b > dkim::max_rsa_bits) {
            fmt::print(
                stderr, "outpostctl dkim keygen: --bits must be {} to {}\n", dkim::min_rsa_bits,
                dkim::max_rsa_bits
            );
            return exit_usage;
        }
        bits = static_cast<unsigned>(*b);
    }
    std::string owner_error;
    auto owner = resolve_owner(owner_opt, &owner_error);
    if (!owner) {
        fmt::print(stderr, "outpostctl dkim keygen: {}\n", owner_error);
        return exit_usage;
    }
    auto created = create_key_file(*algo, bits, out_path, *owner);
    if (auto* e = std::get_if<std::string>(&created)) {
        fmt::print(stderr, "outpostctl dkim keygen: {}\n", *e);
        return exit_failure;
    }
    const auto& key = std::get<dkim::private_key>(created);
    if (ctx.format == "json") {
        json::object doc{
            {"domain", *domain},
            {"selector", *selector},
            {"algorithm", dkim::to_string(key.algo())},
            {"bits", key.bits()},
            {"private_key_path", out_path},
        };
        for (auto& [k, v] : key_record_json(*domain, *selector, key))
            doc[k] = std::move(v);
        print_json(doc);
    } else {
        fmt::print("{}\n", key_record_line(*domain, *selector, key));
    }
    fmt::print(
        stderr, "wrote {} {}-bit private key to {} (mode 0600)\n", dkim::to_string(key.algo()),
        key.bits(), out_path
    );
    return exit_ok;
}

int sign(context& ctx) {
    auto auth_user = ctx.take_option("--auth-user");
    auto client_ip = ctx.take_option("--client-ip").value_or("127.0.0.1");
    auto time_text = ctx.take_option("--time");
    auto keys_path = ctx.take_option("--keys");
    if (ctx.args.size() > 1) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    if (ctx.format == "json") {
        fmt::print(
            stderr,
            "outpostctl dkim sign: prints the signed message; --format json is not supported\n"
        );
        return exit_usage;
    }
    const auto& cfg = ctx.config();
    auto loaded = dkim::load_signer(cfg);
    if (auto* e = std::get_if<dkim::key_error>(&loaded)) {
        fmt::print(stderr, "{}\n", e->message);
        return exit_usage;
    }
    const auto& signer = std::get<dkim::signer>(loaded);
    auto path = ctx.args.empty() ? std::string("-") : ctx.args[0];
    auto raw = read_all(path);
    if (!raw) {
        fmt::print(stderr, "outpostctl dkim sign: cannot read {}\n", path);
        return exit_failure;
    }
    auto msg = to_crlf(*raw);

    dkim::sign_context sc;
    sc.time = std::time(nullptr);
    if (time_text) {
        auto t = parse_int(*time_text);
        if (!t) {
            fmt::print(stderr, "outpostctl dkim sign: --time takes unix seconds\n");
            return exit_usage;
        }
        sc.time = *t;
    }
    sc.auth_user = auth_user;
    sc.client_ip = client_ip;
    if (!auth_user) {
        boost::system::error_code ec;
        auto ip = boost::asio::ip::make_address(client_ip, ec);
        if (ec) {
            fmt::print(stderr, "outpostctl dkim sign: \"{}\" is not an IP address\n", client_ip);
            return exit_usage;
        }
        for (const auto& n : cfg.relay.allowed_networks) {
            if (n.contains(ip)) {
                sc.allowed_network = n.text();
                break;
            }
        }
    }
    if (keys_path) {
        auto t = table_from_file(*keys_path);
        if (!t) {
            fmt::print(stderr, "outpostctl dkim sign: cannot read {}\n", *keys_path);
            return exit_usage;
        }
        sc.lookup = std::move(*t);
    } else {
        sc.lookup = dns_lookup(signer.key_names({}, msg), &cfg);
    }

    auto out = signer.sign({}, msg, sc);
    std::fwrite(out.header_block.data(), 1, out.header_block.size(), stdout);
    std::fwrite(msg.data(), 1, msg.size(), stdout);
    std::fflush(stdout);
    fmt::print(stderr, "{}\n", out.detail);
    return out.is_signed() ? exit_ok : exit_failure;
}

int verify(context& ctx) {
    auto time_text = ctx.take_option("--time");
    auto keys_path = ctx.take_option("--keys");
    if (ctx.args.size() > 1) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    auto path = ctx.args.empty() ? std::string("-") : ctx.args[0];
    auto raw = read_all(path);
    if (!raw) {
        fmt::print(stderr, "outpostctl dkim verify: cannot read {}\n", path);
        return exit_failure;
    }
    auto msg = to_crlf(*raw);
    auto m = message::view_message(msg);
    dkim::verify_options o;
    o.now = std::time(nullptr);
    if (time_text) {
        auto t = parse_int(*time_text);
        if (!t) {
            fmt::print(stderr, "outpostctl dkim verify: --time takes unix seconds\n");
            return exit_usage;
        }
        o.now = *t;
    }
    dkim::key_lookup lookup;
    if (keys_path) {
        auto t = table_from_file(*keys_path);
        if (!t) {
            fmt::print(stderr, "outpostctl dkim verify: cannot read {}\n", *keys_path);
            return exit_usage;
        }
        lookup = std::move(*t);
    } else {
        lookup = dns_lookup(dkim::key_names(m.fields), ctx.config_path ? &ctx.config() : nullptr);
    }
    // Nothing signed is nothing verified: a script asking "is this signed?" must hear no.
    auto results = dkim::verify(m, lookup, o);
    bool all_pass = !results.empty();
    for (const auto& r : results)
        all_pass = all_pass && r.status == dkim::result::pass;
    auto arc = dkim::validate_arc(m, lookup, o);
    all_pass = all_pass && arc.status != dkim::chain_status::fail;
    if (ctx.format == "json") {
        json::array signatures;
        for (const auto& r : results)
            signatures.push_back(json::object{
                {"result", dkim::to_string(r.status)},
                {"domain", r.domain},
                {"selector", r.selector},
                {"algorithm", r.algorithm},
                {"identity", r.identity},
                {"reason", r.reason},
            });
        print_json(json::object{
            {"signatures", std::move(signatures)},
            {"arc",
             {{"result", dkim::to_string(arc.status)},
              {"instance", arc.instance},
              {"reason", arc.reason}}},
            {"pass", all_pass},
        });
        return all_pass ? exit_ok : exit_failure;
    }
    for (const auto& r : results)
        fmt::print(
            "dkim={} d={} s={} a={} ({})\n", dkim::to_string(r.status), r.domain, r.selector,
            r.algorithm, r.reason
        );
    if (results.empty())
        fmt::print("dkim=none\n");
    fmt::print("arc={} i={} ({})\n", dkim::to_string(arc.status), arc.instance, arc.reason);
    return all_pass ? exit_ok : exit_failure;
}

// A plausible message of about size bytes: common headers and 76-column text lines.
std::string bench_message(std::size_t size) {
    std::string m =
        "From: Sender <sender@example.com>\r\nTo: someone@example.net\r\n"
        "Subject: benchmark message\r\nDate: Tue, 24 Nov 2026 21:00:00 +0000\r\n"
        "Message-ID: <bench@example.com>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n";
    const std::string line =
        "Lorem ipsum dolor sit amet,  consectetur adipiscing elit, sed do "
        "eiusmod tem\r\n";
    while (m.size() < size)
        m += line;
    return m;
}

// The calls per second of each of fns, timed in alternating rounds of a few calls each for about
// seconds in all, from each one's fastest round: on a shared machine the other load only slows
// rounds down, so the fastest ones measure the code, and alternating exposes all of them to the
// same conditions.
template <class... Fns>
std::array<double, sizeof...(Fns)> alternating_rates(double seconds, Fns... fns) {
    using clock = std::chrono::steady_clock;
    constexpr int calls = 20;
    auto until = clock::now() + std::chrono::duration<double>(seconds);
    std::array<double, sizeof...(Fns)> best{};
    auto round = [](auto& fn, double& fastest) {
        auto start = clock::now();
        for (int i = 0; i < calls; ++i)
            fn();
        auto per_call = std::chrono::duration<double>(clock::now() - start).count() / calls;
        if (fastest == 0 || per_call < fastest)
            fastest = per_call;
    };
    do {
        std::size_t k = 0;
        (round(fns, best[k++]), ...);
    } while (clock::now() < until);
    for (auto& b : best)
        b = 1.0 / b;
    return best;
}

int bench(context& ctx) {
    double seconds = 1.0;
    if (auto s = ctx.take_option("--seconds")) {
        auto v = parse_int(*s);
        if (!v || *v < 1) {
            fmt::print(stderr, "outpostctl dkim bench: --seconds takes a positive integer\n");
            return exit_usage;
        }
        seconds = static_cast<double>(*v);
    }
    bool as_json = ctx.format == "json";
    json::array runs;
    if (!as_json)
        fmt::print(
            "{:<16} {:>8} {:>11} {:>11} {:>11} {:>11}\n", "algorithm", "message", "signer/s",
            "raw sign/s", "canon+hash", "signer"
        );
    for (auto a : {dkim::algorithm::rsa_sha256, dkim::algorithm::ed25519_sha256}) {
        auto generated = dkim::private_key::generate(a, 2048);
        if (auto* e = std::get_if<std::string>(&generated)) {
            fmt::print(stderr, "outpostctl dkim bench: {}\n", *e);
            return exit_failure;
        }
        auto key = std::get<dkim::private_key>(std::move(generated));
        dkim::signer_settings settings;
        settings.keys.push_back(dkim::domain_key{"example.com", "bench", key, true});
        dkim::signer signer(std::move(settings));
        dkim::sign_options options;
        options.headers = dkim::default_signed_headers();
        options.oversign = dkim::default_oversigned_headers();
        auto prepared = dkim::detail::prepare(options);
        for (std::size_t size : {std::size_t{4096}, std::size_t{100 * 1024}}) {
            auto msg = bench_message(size);
            auto view = message::view_message(msg);
            auto selection = dkim::detail::select_headers(view.fields, prepared);
            std::span<const message::header_field* const> selected(
                selection.fields.data(), selection.fields.size()
            );
            dkim::sign_context sc;
            sc.time = 1800000000;
            // The message's own signature field with b= empty, as the signer writes it.
            auto signed_field = signer.sign({}, msg, sc).header_block;
            auto b_tag = signed_field.find("\r\n b=");
            if (b_tag == std::string::npos) {
                fmt::print(stderr, "outpostctl dkim bench: the signer wrote no signature\n");
                return exit_failure;
            }
            auto own_field = std::string_view(signed_field).substr(0, b_tag + 5);
            // raw: the private-key operation over this message's header data, hashed as the
            // algorithm requires. canon: the same after canonicalizing and hashing the body and
            // canonicalizing the header fields. signer: the whole signer (parse, choose keys,
            // select fields, canonicalize, hash, sign, write the field).
            const auto header_data =
                dkim::detail::signed_data(selected, dkim::canonicalization::relaxed, own_field);
            auto [raw, canon, full] = alternating_rates(
                seconds, [&] { (void)key.sign(header_data); },
                [&] {
                    (void)dkim::detail::body_hash(dkim::canonicalization::relaxed, view.body);
                    (void)key.sign(dkim::detail::signed_data(
                        selected, dkim::canonicalization::relaxed, own_field
                    ));
                },
                [&] { (void)signer.sign({}, msg, sc); }
            );
            double canon_overhead = (raw / canon - 1.0) * 100.0;
            double signer_overhead = (raw / full - 1.0) * 100.0;
            if (as_json) {
                runs.push_back(json::object{
                    {"algorithm", dkim::to_string(a)},
                    {"bits", key.bits()},
                    {"message_bytes", size},
                    {"signer_per_second", std::llround(full)},
                    {"raw_sign_per_second", std::llround(raw)},
                    {"canonicalization_hashing_per_second", std::llround(canon)},
                    {"canonicalization_hashing_overhead_percent",
                     std::round(canon_overhead * 10.0) / 10.0},
                    {"signer_overhead_percent", std::round(signer_overhead * 10.0) / 10.0},
                });
                continue;
            }
            fmt::print(
                "{:<16} {:>6}KB {:>11.0f} {:>11.0f} {:>10.1f}% {:>10.1f}%\n",
                a == dkim::algorithm::rsa_sha256 ? "rsa-sha256/2048" : "ed25519-sha256",
                size / 1024, full, raw, canon_overhead, signer_overhead
            );
        }
    }
    if (as_json)
        print_json(json::object{
            {"seconds_per_run", std::llround(seconds)}, {"runs", std::move(runs)}});
    return exit_ok;
}

int run(context& ctx) {
    if (ctx.args.empty()) {
        fmt::print(stderr, "{}", usage);
        return exit_usage;
    }
    if (bad_format(ctx))
        return exit_usage;
    auto sub = ctx.args[0];
    ctx.args.erase(ctx.args.begin());
    if (sub == "keygen")
        return keygen(ctx);
    if (sub == "sign")
        return sign(ctx);
    if (sub == "verify")
        return verify(ctx);
    if (sub == "bench")
        return bench(ctx);
    if (sub == "rotate")
        return run_dkim_rotate(ctx);
    fmt::print(stderr, "outpostctl dkim: unknown subcommand \"{}\"\n{}", sub, usage);
    return exit_usage;
}

const registration reg{
    "dkim", "generate DKIM keys; sign and verify messages as the daemon does", usage, run};

}  // namespace

}  // namespace outpost::ctl
