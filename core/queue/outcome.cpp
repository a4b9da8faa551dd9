#include "core/queue/outcome.hpp"

#include <fmt/format.h>

#include "core/queue/retry.hpp"
#include "core/util/text.hpp"

namespace outpost::queue {

namespace {

bounce::reply_phase phase_of(smtp::client_stage stage) {
    switch (stage) {
        case smtp::client_stage::rcpt:
            return bounce::reply_phase::rcpt;
        case smtp::client_stage::data:
        case smtp::client_stage::data_end:
            return bounce::reply_phase::data;
        default:
            return bounce::reply_phase::other;
    }
}

}  // namespace

std::string status_of(const smtp::reply& r, bool permanent) {
    if (!r.enhanced.empty())
        return r.enhanced;
    return permanent ? "5.0.0" : "4.0.0";
}

recipient_outcome decide_outcome(
    std::uint32_t index, const smtp::recipient_result* result, const attempt_facts& facts
) {
    recipient_outcome out{{index, outcome_line::kind::deferred, {}, {}}, nullptr, {}};
    auto& o = out.line;
    if (!facts.suppressed.empty()) {
        o.what = outcome_line::kind::bounced;
        o.status = "5.1.1";
        o.reply = fmt::format("not sent: {}", facts.suppressed);
    } else if (facts.route) {
        o.reply = fmt::format(
            "{} {} {}", facts.route->permanent ? 550 : 451, facts.route->status, facts.route->text
        );
        o.status = facts.route->status;
        o.what =
            facts.route->permanent ? outcome_line::kind::bounced : outcome_line::kind::deferred;
    } else if (result) {
        out.reply = &result->response;
        out.phase = phase_of(result->stage);
        o.reply = util::trim(result->response.summary()).empty() ? std::string("no reply")
                                                                 : result->response.summary();
        o.status = status_of(result->response, result->outcome == smtp::rcpt_outcome::permanent);
        o.what = result->outcome == smtp::rcpt_outcome::delivered   ? outcome_line::kind::delivered
                 : result->outcome == smtp::rcpt_outcome::permanent ? outcome_line::kind::bounced
                                                                    : outcome_line::kind::deferred;
    } else if (!facts.held_back.empty()) {
        o.reply = fmt::format("451 4.4.5 held back: {}", facts.held_back);
        o.status = "4.4.5";
    } else {
        o.reply = "451 4.3.0 no result";
        o.status = "4.3.0";
    }
    if (o.what == outcome_line::kind::deferred &&
        expired(facts.arrived, facts.now, facts.lifetime)) {
        o.what = outcome_line::kind::bounced;
        o.status = "4.4.7";
        o.reply = fmt::format(
            "message expired after {}: {}", util::format_duration(facts.lifetime), o.reply
        );
        out.reply = nullptr;  // an expiry says nothing about the address
        out.phase = bounce::reply_phase::other;
    }
    return out;
}

}  // namespace outpost::queue
