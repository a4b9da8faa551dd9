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
