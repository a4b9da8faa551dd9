#include "server/outpostd/signing.hpp"

#include <memory>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "core/dkim/key_store.hpp"
#include "core/dkim/signer.hpp"
#include "core/util/log.hpp"

namespace outpost::daemon {

std::variant<listener::sign_fn, std::string> make_signer(const config::config& cfg) {
    if (cfg.dkim_keys.empty() && !cfg.arc.enabled)
        return listener::sign_fn{};
    auto loaded = dkim::load_signer(cfg);
    if (auto* error = std::get_if<dkim::key_error>(&loaded))
        return error->message;
    auto signer = std::make_shared<const dkim::signer>(std::move(std::get<dkim::signer>(loaded)));
    auto networks = cfg.relay.allowed_networks;
    return listener::sign_fn([signer, networks](
                                 std::string_view prefix, std::string_view original,
                                 const smtp::envelope& env, std::int64_t now
                             ) {
        dkim::sign_context ctx;
        ctx.time = now;
        if (!env.auth_user.empty())
            ctx.auth_user = env.auth_user;
        ctx.client_ip = env.client_address;
        boost::system::error_code ec;
        auto ip = boost::asio::ip::make_address(env.client_address, ec);
        if (!ec)
            for (const auto& n : networks)
                if (n.contains(ip)) {
                    ctx.allowed_network = n.text();
                    break;
                }
        auto outcome = signer->sign(prefix, original, ctx);
        listener::signing_result r;
        r.header_block = std::move(outcome.header_block);
        r.summary =
            outcome.is_signed()
                ? fmt::format(
                      "d={} signatures={} arc={}", outcome.signing_domain, outcome.signatures,
                      outcome.sealed ? fmt::format("i={}", outcome.arc_instance) : "no"
                  )
                : fmt::format("unsigned: {}", outcome.detail);
        return r;
    });
}

}  // namespace outpost::daemon
