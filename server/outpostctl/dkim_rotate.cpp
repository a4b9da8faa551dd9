// outpostctl dkim rotate: the next key under a new dated selector for each algorithm a domain
// signs with, and --activate, which switches signing to it once DNS publishes its record.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/edit.hpp"
#include "config/load.hpp"
#include "core/dkim/key_store.hpp"
#include "core/dns/resolver.hpp"
#include "core/doctor/checks.hpp"
#include "core/util/text.hpp"
#include "server/outpostctl/api_view.hpp"
#include "server/outpostctl/dkim_keys.hpp"

namespace outpost::ctl {

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;

// After activation the old record stays published for the longest a message signed with the old
// key may wait in our queue (delivery.max_lifetime), plus this margin for receivers that verify
// late (their own queues, forwarders, ARC re-checks) and for DNS caches.
constexpr std::int64_t removal_margin_seconds = 7 * 24 * 3600;

// One signing [[dkim]] entry of the domain being rotated.
struct entry {
    std::size_t index = 0;  // among the [[dkim]] tables, in file order
    const config::dkim_key* config = nullptr;
    dkim::algorithm algo = dkim::algorithm::rsa_sha256;
};

// A key written by rotate that no [[dkim]] entry names yet.
struct pending {
    std::string selector;
    std::string path;
    dkim::private_key key;
};

// What --activate found for one waiting key: the doctor's findings and, when one failed, what DNS
// returned for the key's record name.
struct key_check {
    std::vector<doctor::finding> findings;
    bool failed = false;
    dns::status dns_result = dns::status::ok;
    std::vector<std::string> dns_records;
};

std::string tag_of(dkim::algorithm a) {
    return a == dkim::algorithm::rsa_sha256 ? "rsa" : "ed";
}

// "2026-11-24", or "20261124" when compact.
std::string utc_date(std::int64_t unix_seconds, bool compact) {
    auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    auto sep = compact ? "" : "-";
    return fmt::format(
        "{:04}{}{:02}{}{:02}", tm.tm_year + 1900, sep, tm.tm_mon + 1, sep, tm.tm_mday
    );
}

// "rsa-20261124" or "rsa-20261124-2" for tag "rsa".
bool is_rotation_selector(std::string_view selector, std::string_view tag) {
    if (!selector.starts_with(tag) || selector.size() < tag.size() + 9 ||
        selector[tag.size()] != '-')
        return false;
    auto rest = selector.substr(tag.size() + 1);
    auto digits = [](std::string_view s) {
        return !s.empty() &&
               std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (!digits(rest.substr(0, 8)))
        return false;
    rest.remove_prefix(8);
    return rest.empty() || (rest[0] == '-' && digits(rest.substr(1)));
}

std::string key_path(const config::dkim_key& current, const std::string& selector) {
    auto name = current.domain + "." + selector + ".pem";
    auto dir = fs::path(current.private_key).parent_path();
    return dir.empty() ? name : (dir / name).string();
}

bool newer(const struct stat& a, const struct stat& b) {
    if (a.st_mtim.tv_sec != b.st_mtim.tv_sec)
        return a.st_mtim.tv_sec > b.st_mtim.tv_sec;
    return a.st_mtim.tv_nsec > b.st_mtim.tv_nsec;
}

// Selectors of keys rotate wrote next to e's key for its algorithm, that no [[dkim]] entry names
// (taken) and that are newer than e's key (older ones are keys retired and dropped from the
// config): newest first.
std::vector<std::string> pending_selectors(const entry& e, const std::set<std::string>& taken) {
    struct stat current {};

    if (::stat(e.config->private_key.c_str(), &current) != 0)
        return {};
    auto dir = fs::path(e.config->private_key).parent_path();
    auto prefix = e.config->domain + ".";
    std::vector<std::pair<struct stat, std::string>> found;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir.empty() ? fs::path(".") : dir, ec)) {
        auto name = f.path().filename().string();
        if (!name.starts_with(prefix) || !name.ends_with(".pem"))
            continue;
        auto selector = name.substr(prefix.size(), name.size() - prefix.size() - 4);
        if (!is_rotation_selector(selector, tag_of(e.algo)) || taken.count(selector))
            continue;

        struct stat st {};

        if (::stat(f.path().c_str(), &st) == 0 && S_ISREG(st.st_mode) && newer(st, current))
            found.emplace_back(st, selector);
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        return newer(a.first, b.first);
    });
    std::vector<std::string> out;
    for (const auto& [st, selector] : found)
        out.push_back(selector);
    return out;
}

// The key's owner, to give a new key file when root runs this (the daemon's user must read it).
std::optional<file_owner> owner_for(const std::string& like) {
    struct stat st {};

    if (::geteuid() != 0 || ::stat(like.c_str(), &st) != 0)
        return std::nullopt;
    return file_owner{st.st_uid, st.st_gid};
}

std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

std::optional<std::string> read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Writes text to path through a temporary file in the same directory (fsynced, then renamed over
// path, then the directory fsynced), with the mode and, as root, the owner of like.
std::optional<std::string> write_atomically(
    const std::string& path, const std::string& text, const struct stat& like
) {
    auto tmp = path + ".tmp-XXXXXX";
    int fd = ::mkstemp(tmp.data());
    if (fd < 0)
        return fmt::format("cannot create {}: {}", tmp, std::strerror(errno));
    bool ok = ::fchmod(fd, like.st_mode & 07777) == 0 &&
              (::geteuid() != 0 || ::fchown(fd, like.st_uid, like.st_gid) == 0);
    std::size_t done = 0;
    while (ok && done < text.size()) {
        auto n = ::write(fd, text.data() + done, text.size() - done);
        ok = n > 0;
        done += ok ? static_cast<std::size_t>(n) : 0;
    }
    ok = ok && ::fsync(fd) == 0;
    auto error = errno;
    ok = ::close(fd) == 0 && ok;
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        error = ok ? errno : error;
        ::unlink(tmp.c_str());
        return fmt::format("cannot write {}: {}", path, std::strerror(error));
    }
    auto dir = fs::path(path).parent_path();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return std::nullopt;
}

std::optional<std::int64_t> parse_number(std::string_view s) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
        return std::nullopt;
    return v;
}

// Generates (or finds, from an earlier run) the next key of each entry and prints the records
// (zone-file lines, or one JSON object).
int rotate(
    const std::string& domain,
    const std::vector<entry>& entries,
    std::set<std::string> taken,
    std::int64_t now,
    std::optional<unsigned> bits,
    bool as_json
) {
    std::vector<std::string> records;
    json::array keys;
    for (const auto& e : entries) {
        auto current = dkim::load_private_key_file(e.config->private_key);
        if (auto* error = std::get_if<std::string>(&current)) {
            fmt::print(stderr, "outpostctl dkim rotate: {}\n", *error);
            return exit_usage;
        }
        auto waiting = pending_selectors(e, taken);
        std::string selector;
        std::optional<dkim::private_key> key;
        bool earlier = !waiting.empty();
        if (earlier) {
            selector = waiting.front();
            auto path = key_path(*e.config, selector);
            auto loaded = dkim::load_private_key_file(path);
            if (auto* error = std::get_if<std::string>(&loaded)) {
                fmt::print(stderr, "outpostctl dkim rotate: {}\n", *error);
                return exit_failure;
            }
            key = std::get<dkim::private_key>(std::move(loaded));
            fmt::print(
                stderr, "{} {}: {} from an earlier rotate is waiting (delete it for a fresh key)\n",
                e.config->selector, dkim::to_string(e.algo), path
            );
        } else {
            auto base = tag_of(e.algo) + "-" + utc_date(now, true);
            selector = base;
            for (int n = 2; taken.count(selector) || fs::exists(key_path(*e.config, selector)); ++n)
                selector = fmt::format("{}-{}", base, n);
            auto path = key_path(*e.config, selector);
            auto size = bits.value_or(std::max(std::get<dkim::private_key>(current).bits(), 2048u));
            auto created = create_key_file(e.algo, size, path, owner_for(e.config->private_key));
            if (auto* error = std::get_if<std::string>(&created)) {
                fmt::print(stderr, "outpostctl dkim rotate: {}\n", *error);
                return exit_failure;
            }
            key = std::get<dkim::private_key>(std::move(created));
            fmt::print(
                stderr, "{} {}: wrote the next key, {} bits, to {} (mode 0600)\n",
                e.config->selector, dkim::to_string(e.algo), key->bits(), path
            );
        }
        taken.insert(selector);
        records.push_back(key_record_line(domain, selector, *key));
        json::object k{
            {"selector", selector},
            {"replaces", e.config->selector},
            {"algorithm", dkim::to_string(e.algo)},
            {"bits", key->bits()},
            {"private_key_path", key_path(*e.config, selector)},
            {"from_earlier_run", earlier},
        };
        for (auto& [name, v] : key_record_json(domain, selector, *key))
            k[name] = std::move(v);
        keys.push_back(std::move(k));
    }
    if (as_json)
        print_json(json::object{{"domain", domain}, {"keys", std::move(keys)}});
    else
        for (const auto& r : records)
            fmt::print("{}\n", r);
    fmt::print(
        stderr,
        "publish the record{} above; once DNS serves {}, run\n"
        "  outpostctl dkim rotate --domain {} --activate\n",
        records.size() > 1 ? "s" : "", records.size() > 1 ? "them" : "it", domain
    );
    return exit_ok;
}

// Runs the doctor's DKIM check of each new key and, for a failure, asks DNS what it serves.
std::vector<key_check> check_published(
    const config::config& cfg, const std::string& domain, const std::vector<pending>& keys
) {
    dns::resolver_options options;
    for (const auto& s : cfg.delivery.dns_servers)
        options.servers.push_back({s.host, s.port ? s.port : std::uint16_t{53}});
    asio::io_context io;
    auto resolver = dns::make_cares_resolver(io.get_executor(), options);
    std::vector<key_check> checks;
    auto run = [&]() -> asio::awaitable<void> {
        for (const auto& p : keys) {
            // A named argument: g++ 12 destroys a braced temporary in a co_await twice.
            doctor::signing_key key{domain, p.selector, p.key, true, true};
            key_check c;
            c.findings = co_await doctor::check_dkim(*resolver, std::move(key));
            c.failed = std::any_of(c.findings.begin(), c.findings.end(), [](const auto& f) {
                return f.level == doctor::verdict::fail;
            });
            if (c.failed) {
                auto txt =
                    co_await resolver->txt(fmt::format("{}._domainkey.{}", p.selector, domain));
                c.dns_result = txt.result;
                c.dns_records = std::move(txt.records);
            }
            checks.push_back(std::move(c));
        }
    };
    std::exception_ptr failure;
    asio::co_spawn(io, run, [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure)
        std::rethrow_exception(failure);
    return checks;
}

// The findings as doctor prints them and, under a failed check, what DNS returned and the record
// to publish.
void print_checks(
    const std::string& domain,
    const std::vector<pending>& keys,
    const std::vector<key_check>& checks
) {
    for (std::size_t i = 0; i < checks.size(); ++i) {
        const auto& c = checks[i];
        for (const auto& f : c.findings)
            fmt::print("{}  dkim   {}: {}\n", doctor::to_string(f.level), f.subject, f.message);
        if (!c.failed)
            continue;
        if (c.dns_records.empty())
            fmt::print("      DNS returned: {} (no TXT record)\n", dns::to_string(c.dns_result));
        for (const auto& r : c.dns_records)
            fmt::print("      DNS returned: \"{}\"\n", r);
        fmt::print("      publish: {}\n", key_record_line(domain, keys[i].selector, keys[i].key));
    }
}

// One entry per waiting key: its selector, the doctor's findings, and for a failed check what DNS
// returned (dns_result, dns_records) and the record to publish.
json::array checks_json(
    const std::string& domain,
    const std::vector<pending>& keys,
    const std::vector<key_check>& checks
) {
    json::array out;
    for (std::size_t i = 0; i < checks.size(); ++i) {
        const auto& c = checks[i];
        json::array findings;
        for (const auto& f : c.findings)
            findings.push_back(json::object{
                {"verdict", doctor::to_string(f.level)},
                {"subject", f.subject},
                {"message", f.message},
            });
        json::object o{
            {"selector", keys[i].selector},
            {"private_key_path", keys[i].path},
            {"published", !c.failed},
            {"findings", std::move(findings)},
        };
        if (c.failed) {
            json::array records;
            for (const auto& r : c.dns_records)
                records.emplace_back(r);
            o["dns_result"] = dns::to_string(c.dns_result);
            o["dns_records"] = std::move(records);
            o["publish"] = key_record_json(domain, keys[i].selector, keys[i].key);
        }
        out.push_back(std::move(o));
    }
    return out;
}

int activate(
    const config::config& cfg,
    const std::string& domain,
    const std::vector<entry>& entries,
    std::set<std::string> taken,
    std::int64_t now,
    bool as_json
) {
    std::vector<pending> keys;
    for (const auto& e : entries) {
        auto waiting = pending_selectors(e, taken);
        if (waiting.empty()) {
            fmt::print(
                stderr,
                "outpostctl dkim rotate: no new {} key is waiting next to {} (selector \"{}\"); "
                "run "
                "outpostctl dkim rotate --domain {} first\n",
                dkim::to_string(e.algo), e.config->private_key, e.config->selector, domain
            );
            return exit_failure;
        }
        auto path = key_path(*e.config, waiting.front());
        auto loaded = dkim::load_private_key_file(path);
        if (auto* error = std::get_if<std::string>(&loaded)) {
            fmt::print(stderr, "outpostctl dkim rotate: {}\n", *error);
            return exit_failure;
        }
        taken.insert(waiting.front());
        keys.push_back({waiting.front(), path, std::get<dkim::private_key>(std::move(loaded))});
    }
    auto checks = check_published(cfg, domain, keys);
    json::object doc{
        {"domain", domain},
        {"activated", false},
        {"checks", checks_json(domain, keys, checks)},
    };
    // After the checks a failure is reported on standard error and, as JSON, with the checks.
    auto refuse = [&](const std::string& message) {
        if (as_json) {
            doc["error"] = message;
            print_json(doc);
        }
        std::fflush(stdout);
        fmt::print(stderr, "outpostctl dkim rotate: {}\n", message);
        return exit_failure;
    };
    if (!as_json)
        print_checks(domain, keys, checks);
    if (std::any_of(checks.begin(), checks.end(), [](const auto& c) { return c.failed; }))
        return refuse(fmt::format(
            "not activated: DNS does not serve the new key record{} as {}; signing is unchanged",
            keys.size() > 1 ? "s" : "", as_json ? "the checks show" : "above"
        ));

    auto today = utc_date(now, false);
    auto lifetime =
        std::chrono::duration_cast<std::chrono::seconds>(cfg.delivery.max_lifetime).count();
    auto removal = now + lifetime + removal_margin_seconds;
    auto removal_text = util::iso8601(removal);
    std::vector<config::table_edit> edits;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& old = *entries[i].config;
        config::table_edit edit;
        edit.index = entries[i].index;
        edit.set = {{"sign", "false"}};
        edit.comment = fmt::format(
            "# retired {} by outpostctl dkim rotate; remove this entry, its key and the record "
            "{}._domainkey.{} after {}",
            today, old.selector, domain, removal_text
        );
        edit.after = fmt::format(
            "\n[[dkim]]  # added {} by outpostctl dkim rotate, replacing selector \"{}\"\n"
            "domain = {}\nselector = {}\nalgorithm = {}\nprivate_key = {}\n{}",
            today, old.selector, toml_string(old.domain), toml_string(keys[i].selector),
            toml_string(old.algorithm), toml_string(keys[i].path),
            old.sign_subdomains ? "" : "sign_subdomains = false\n"
        );
        edits.push_back(std::move(edit));
    }
    auto text = read_text(cfg.path);

    struct stat like {};

    if (!text || ::stat(cfg.path.c_str(), &like) != 0)
        return refuse("cannot read " + cfg.path);
    auto edited = config::edit_table_array(*text, cfg.path, "dkim", edits);
    if (auto* error = std::get_if<config::load_error>(&edited))
        return refuse(error->message);
    const auto& fresh = std::get<std::string>(edited);
    // The daemon must accept the file and its keys on reload: check both before writing.
    auto reloaded = config::load_string(fresh, cfg.path);
    if (auto* error = std::get_if<config::load_error>(&reloaded))
        return refuse("the edited config would not load: " + error->message);
    if (auto signer = dkim::load_signer(std::get<config::config>(reloaded));
        auto* error = std::get_if<dkim::key_error>(&signer))
        return refuse("the edited config's keys would not load: " + error->message);
    if (auto error = write_atomically(cfg.path + ".bak", *text, like))
        return refuse(*error);
    if (auto error = write_atomically(cfg.path, fresh, like))
        return refuse(*error);

    if (as_json) {
        json::array switched;
        for (std::size_t i = 0; i < entries.size(); ++i)
            switched.push_back(json::object{
                {"selector", keys[i].selector},
                {"previous_selector", entries[i].config->selector},
                {"algorithm", dkim::to_string(entries[i].algo)},
                {"private_key_path", keys[i].path},
                {"previous_record_name",
                 fmt::format("{}._domainkey.{}", entries[i].config->selector, domain)},
            });
        doc["activated"] = true;
        doc["switched"] = std::move(switched);
        doc["remove_old_records_after"] = removal_text;
        doc["remove_old_records_after_unix"] = removal;
        doc["config"] = cfg.path;
        doc["previous_config"] = cfg.path + ".bak";
        doc["reload"] = "systemctl reload outpost";
        print_json(doc);
        return exit_ok;
    }

    std::string switched, old_records;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        switched += fmt::format(
            "{}{} (was {})", i ? ", " : "", keys[i].selector, entries[i].config->selector
        );
        old_records += fmt::format("  {}._domainkey.{}\n", entries[i].config->selector, domain);
    }
    fmt::print(
        "activated: {} signs with {} once outpostd reloads its keys:\n"
        "  systemctl reload outpost\n"
        "the old key{} stay{} in {} with sign = false: loaded and checked, never signing.\n"
        "remove the old record{} after {} (now + delivery.max_lifetime {} + {} days):\n{}"
        "then delete {} [[dkim]] entr{} and key file{}. {} keeps the previous config.\n",
        domain, switched, entries.size() > 1 ? "s" : "", entries.size() > 1 ? "" : "s", cfg.path,
        entries.size() > 1 ? "s" : "", removal_text,
        util::format_duration(cfg.delivery.max_lifetime), removal_margin_seconds / 86400,
        old_records, entries.size() > 1 ? "their" : "its", entries.size() > 1 ? "ies" : "y",
        entries.size() > 1 ? "s" : "", cfg.path + ".bak"
    );
    return exit_ok;
}

}  // namespace

const char* const dkim_rotate_usage =
    "       outpostctl [--config F] dkim rotate --domain D [--bits N] [--time UNIX]\n"
    "       outpostctl [--config F] dkim rotate --domain D --activate [--time UNIX]\n";

int run_dkim_rotate(context& ctx) {
    auto domain_opt = ctx.take_option("--domain");
    bool do_activate = ctx.take_flag("--activate");
    auto bits_text = ctx.take_option("--bits");
    auto time_text = ctx.take_option("--time");
    if (!domain_opt || !ctx.args.empty()) {
        fmt::print(stderr, "usage:\n{}", dkim_rotate_usage);
        return exit_usage;
    }
    auto domain = util::to_lower(*domain_opt);
    if (domain.ends_with('.'))
        domain.pop_back();
    std::int64_t now = std::time(nullptr);
    if (time_text) {
        auto t = parse_number(*time_text);
        if (!t) {
            fmt::print(stderr, "outpostctl dkim rotate: --time takes unix seconds\n");
            return exit_usage;
        }
        now = *t;
    }
    std::optional<unsigned> bits;
    if (bits_text) {
        auto b = parse_number(*bits_text);
        if (!b || *b < 2048 || *b > dkim::max_rsa_bits) {
            fmt::print(
                stderr, "outpostctl dkim rotate: --bits must be 2048 to {}\n", dkim::max_rsa_bits
            );
            return exit_usage;
        }
        bits = static_cast<unsigned>(*b);
    }
    const auto& cfg = ctx.config();
    std::vector<entry> entries;
    std::set<std::string> taken;
    for (std::size_t i = 0; i < cfg.dkim_keys.size(); ++i) {
        const auto& k = cfg.dkim_keys[i];
        if (util::to_lower(k.domain) != domain)
            continue;
        taken.insert(k.selector);
        auto algo = dkim::parse_algorithm(k.algorithm);
        if (k.sign && algo)
            entries.push_back({i, &k, *algo});
    }
    if (entries.empty()) {
        fmt::print(
            stderr, "outpostctl dkim rotate: no [[dkim]] entry signs for {} in {}\n", domain,
            cfg.path
        );
        return exit_usage;
    }
    bool as_json = ctx.format == "json";
    return do_activate ? activate(cfg, domain, entries, std::move(taken), now, as_json)
                       : rotate(domain, entries, std::move(taken), now, bits, as_json);
}

}  // namespace outpost::ctl
