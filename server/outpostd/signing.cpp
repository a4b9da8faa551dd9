#include "server/outpostd/signing.hpp"

#include <map>
#include <memory>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "core/dkim/key_store.hpp"
#include "core/dkim/signer.hpp"
#include "core/util/log.hpp"

namespace outpost::daemon {

namespace {

dkim::key_lookup lookup_from(const listener::txt_table& keys) {
    std::map<std::string, dkim::key_answer> table;
    for (const auto& [name, answer] : keys) {
        dkim::key_answer a;
        switch (answer.state) {
            case listener::txt_answer::status::found:
                a.state = dkim::key_answer::status::found;
                break;
            case listener::txt_answer::status::missing:
                a.state = dkim::key_answer::status::missing;
                break;
            case listener::txt_answer::status::temporary:
                a.state = dkim::key_answer::status::temporary;
                break;
        }
        a.records = answer.records;
        table.emplace(name, std::move(a));
    }
    return dkim::table_lookup(std::move(table));
}

}  // namespace

std::variant<listener::sign_fn, std::string> make_signer(const config::config& cfg) {
    if (cfg.dkim_keys.empty() && !cfg.arc.enabled)
        return listener::signing_step{};
    auto loaded = dkim::load_signer(cfg);
    if (auto* error = std::get_if<dkim::key_error>(&loaded))
        return error->message;
    auto signer = std::make_shared<const dkim::signer>(std::move(std::get<dkim::signer>(loaded)));
    auto networks = cfg.relay.allowed_networks;
    auto reject_unsignable = cfg.dkim.reject_unsignable;

    listener::signing_step step;
    step.key_names = [signer](std::string_view prefix, std::string_view original) {
        return signer->key_names(prefix, original);
    };
    step.sign = [signer, networks, reject_unsignable](
                    std::string_view prefix, std::string_view original, const smtp::envelope& env,
                    std::int64_t now, const listener::txt_table& keys
                ) {
        dkim::sign_context ctx;
        ctx.time = now;
        if (!env.auth_user.empty())
            ctx.auth_user = env.auth_user;
        ctx.client_ip = env.client_address;
        ctx.lookup = lookup_from(keys);
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
        bool from_problem = outcome.reason == dkim::skip_reason::no_from ||
                            outcome.reason == dkim::skip_reason::several_from ||
                            outcome.reason == dkim::skip_reason::unparsable_from;
        if (reject_unsignable && from_problem)
            r.reject = fmt::format("Message refused: {}", outcome.detail);
        return r;
    };
    return step;
}

}  // namespace outpost::daemon
