// DKIM key files as outpostctl writes them, and `dkim rotate`: shared by the dkim subcommands.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include <boost/json/object.hpp>
#include <sys/types.h>

#include "core/dkim/key.hpp"
#include "server/outpostctl/command.hpp"

namespace outpost::ctl {

struct file_owner {
    uid_t uid = 0;
    gid_t gid = 0;
};

// Who should own a file outpostctl writes for the daemon (a key, the users file): the --owner
// given (a user name; its primary group), else, when root runs outpostctl and the service user
// "outpost" exists, that user, so that the `User=outpost` service can read it; else nobody
// (the file stays the caller's). An unknown --owner is a usage error: nullopt and *error set.
std::optional<std::optional<file_owner>> resolve_owner(
    const std::optional<std::string>& owner_option, std::string* error
);

// Gives path to owner, when set; false with errno when chown fails.
bool give_to(const std::string& path, const std::optional<file_owner>& owner);

// Generates a key (RSA of bits bits, or Ed25519) and writes its PEM to path: created exclusively
// (an existing file, perhaps a published key, is never replaced), mode 0600 whatever the umask,
// given to owner when set (root making a key the daemon's user must read), and fsynced. Returns
// the key, or a sentence saying what failed; no file is left behind then.
std::variant<dkim::private_key, std::string> create_key_file(
    dkim::algorithm algo,
    unsigned bits,
    const std::string& path,
    std::optional<file_owner> owner = std::nullopt
);

// The zone-file line to publish for a key: `selector._domainkey.domain. IN TXT "v=DKIM1; ..."`,
// split into character-strings of at most 255 bytes (RFC 1035 §3.3, RFC 6376 §3.6.2.2).
std::string key_record_line(
    const std::string& domain, const std::string& selector, const dkim::private_key& key
);

// The same record for --format json: record_name (selector._domainkey.domain, no final dot),
// record (the whole TXT value) and txt_strings (the record split as key_record_line splits it).
boost::json::object key_record_json(
    const std::string& domain, const std::string& selector, const dkim::private_key& key
);

// outpostctl dkim rotate --domain D [--activate] [--bits N] [--time UNIX]; ctx.args hold the
// options after "rotate".
int run_dkim_rotate(context& ctx);

// The usage lines of dkim rotate.
extern const char* const dkim_rotate_usage;

}  // namespace outpost::ctl
