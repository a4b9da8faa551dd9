#include "core/dmarc/report.hpp"

#include <charconv>
#include <memory>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <expat.h>
#include <fmt/format.h>

#include "core/util/text.hpp"

namespace outpost::dmarc {

namespace {

// Element paths we read, joined with '/': "feedback/record/row/source_ip".
struct reader {
    report r;
    std::vector<std::string> path;
    std::string text;
    std::string error;
    bool saw_feedback = false;
    bool dkim_seen = false;  // the first auth_results/dkim of this record
    bool spf_seen = false;

    std::string where() const {
        std::string joined;
        for (const auto& p : path) {
            if (!joined.empty())
                joined += '/';
            joined += p;
        }
        return joined;
    }

    static std::int64_t number(const std::string& s, bool& ok) {
        std::int64_t v = 0;
        auto t = util::trim(s);
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        ok = ec == std::errc() && end == t.data() + t.size() && v >= 0;
        return v;
    }

    void start(const std::string& name) {
        // Namespaced documents (DMARCbis) name elements "uri:name" after expat's separator.
        auto local = name.substr(name.rfind(' ') == std::string::npos ? 0 : name.rfind(' ') + 1);
        path.push_back(local);
        text.clear();
        if (path.size() == 1)
            saw_feedback = local == "feedback";
        auto at = where();
        if (at == "feedback/record") {
            r.records.emplace_back();
            dkim_seen = spf_seen = false;
        }
    }

    void end() {
        auto at = where();
        auto value = std::string(util::trim(text));
        text.clear();
        path.pop_back();
        if (!error.empty())
            return;
        bool ok = true;
        if (at == "feedback/report_metadata/org_name")
            r.org_name = value;
        else if (at == "feedback/report_metadata/report_id")
            r.report_id = value;
        else if (at == "feedback/report_metadata/date_range/begin")
            r.begin = number(value, ok);
        else if (at == "feedback/report_metadata/date_range/end")
            r.end = number(value, ok);
        else if (at == "feedback/policy_published/domain")
            r.policy_domain = util::to_lower(value);
        else if (at == "feedback/policy_published/p")
            r.policy = value;
        else if (!r.records.empty()) {
            auto& rec = r.records.back();
            if (at == "feedback/record/row/source_ip")
                rec.source_ip = value;
            else if (at == "feedback/record/row/count")
                rec.count = static_cast<std::uint64_t>(number(value, ok));
            else if (at == "feedback/record/row/policy_evaluated/disposition")
                rec.disposition = value;
            else if (at == "feedback/record/row/policy_evaluated/dkim")
                rec.dkim_aligned = util::iequals(value, "pass");
            else if (at == "feedback/record/row/policy_evaluated/spf")
                rec.spf_aligned = util::iequals(value, "pass");
            else if (at == "feedback/record/identifiers/header_from")
                rec.header_from = util::to_lower(value);
            else if (at == "feedback/record/auth_results/dkim")
                dkim_seen = true;
            else if (at == "feedback/record/auth_results/spf")
                spf_seen = true;
            else if (at == "feedback/record/auth_results/dkim/domain" && !dkim_seen)
                rec.dkim_domain = util::to_lower(value);
            else if (at == "feedback/record/auth_results/dkim/result" && !dkim_seen)
                rec.dkim_result = value;
            else if (at == "feedback/record/auth_results/spf/domain" && !spf_seen)
                rec.spf_domain = util::to_lower(value);
            else if (at == "feedback/record/auth_results/spf/result" && !spf_seen)
                rec.spf_result = value;
        }
        if (!ok)
            error = fmt::format(
                "{} is not a number: \"{}\"", at, util::printable_ascii(value.substr(0, 40))
            );
    }
};

}  // namespace

std::variant<report, std::string> parse_report(std::string_view xml) {
    if (xml.size() > max_report_size)
        return fmt::format("larger than {} bytes", max_report_size);
    std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(
        XML_ParserCreateNS(nullptr, ' '), &XML_ParserFree
    );
    if (!parser)
        return std::string("no XML parser");
    reader state;
    XML_SetUserData(parser.get(), &state);
    XML_SetElementHandler(
        parser.get(),
        [](void* data, const XML_Char* name, const XML_Char**) {
            static_cast<reader*>(data)->start(name);
        },
        [](void* data, const XML_Char*) { static_cast<reader*>(data)->end(); }
    );
    XML_SetCharacterDataHandler(parser.get(), [](void* data, const XML_Char* s, int len) {
        auto* r = static_cast<reader*>(data);
        if (r->text.size() < 4096)  // no element we read is longer
            r->text.append(s, static_cast<std::size_t>(len));
    });
    // Entities are never expanded beyond the predefined ones: no external DTDs, no billion laughs
    // (expat 2.4+ also limits amplification).
    XML_SetParamEntityParsing(parser.get(), XML_PARAM_ENTITY_PARSING_NEVER);
    if (XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE) ==
        XML_STATUS_ERROR)
        return fmt::format(
            "not well-formed XML at line {}: {}", XML_GetCurrentLineNumber(parser.get()),
            XML_ErrorString(XML_GetErrorCode(parser.get()))
        );
    if (!state.error.empty())
        return state.error;
    if (!state.saw_feedback)
        return std::string("not a DMARC aggregate report (no <feedback> root)");
    if (state.r.report_id.empty() || state.r.org_name.empty())
        return std::string("no report_metadata org_name and report_id");
    if (state.r.records.empty())
        return std::string("no <record>");
    for (const auto& rec : state.r.records)
        if (rec.source_ip.empty())
            return std::string("a <record> without row/source_ip");
    return std::move(state.r);
}

namespace json = boost::json;

std::string to_json(const report& r) {
    json::array records;
    for (const auto& x : r.records)
        records.push_back(json::object{
            {"source_ip", x.source_ip},
            {"count", x.count},
            {"disposition", x.disposition},
            {"dkim_aligned", x.dkim_aligned},
            {"spf_aligned", x.spf_aligned},
            {"header_from", x.header_from},
            {"dkim_domain", x.dkim_domain},
            {"dkim_result", x.dkim_result},
            {"spf_domain", x.spf_domain},
            {"spf_result", x.spf_result},
        });
    return json::serialize(json::object{
        {"org_name", r.org_name},
        {"report_id", r.report_id},
        {"begin", r.begin},
        {"end", r.end},
        {"policy_domain", r.policy_domain},
        {"policy", r.policy},
        {"records", std::move(records)},
    });
}

std::optional<report> report_from_json(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec || !v.is_object())
        return std::nullopt;
    const auto& o = v.as_object();
    auto str = [](const json::object& from, const char* name) {
        auto* f = from.if_contains(name);
        return f && f->is_string() ? std::string(f->as_string()) : std::string();
    };
    auto num = [](const json::object& from, const char* name) -> std::int64_t {
        auto* f = from.if_contains(name);
        return f && f->is_int64()    ? f->as_int64()
               : f && f->is_uint64() ? static_cast<std::int64_t>(f->as_uint64())
                                     : -1;
    };
    auto flag = [](const json::object& from, const char* name) {
        auto* f = from.if_contains(name);
        return f && f->is_bool() && f->as_bool();
    };
    report r;
    r.org_name = str(o, "org_name");
    r.report_id = str(o, "report_id");
    r.begin = num(o, "begin");
    r.end = num(o, "end");
    r.policy_domain = str(o, "policy_domain");
    r.policy = str(o, "policy");
    auto* records = o.if_contains("records");
    if (r.org_name.empty() || r.report_id.empty() || r.begin < 0 || r.end < 0 || !records ||
        !records->is_array())
        return std::nullopt;
    for (const auto& item : records->as_array()) {
        if (!item.is_object())
            return std::nullopt;
        const auto& x = item.as_object();
        record rec;
        rec.source_ip = str(x, "source_ip");
        auto count = num(x, "count");
        if (rec.source_ip.empty() || count < 0)
            return std::nullopt;
        rec.count = static_cast<std::uint64_t>(count);
        rec.disposition = str(x, "disposition");
        rec.dkim_aligned = flag(x, "dkim_aligned");
        rec.spf_aligned = flag(x, "spf_aligned");
        rec.header_from = str(x, "header_from");
        rec.dkim_domain = str(x, "dkim_domain");
        rec.dkim_result = str(x, "dkim_result");
        rec.spf_domain = str(x, "spf_domain");
        rec.spf_result = str(x, "spf_result");
        r.records.push_back(std::move(rec));
    }
    if (r.records.empty())
        return std::nullopt;
    return r;
}

}  // namespace outpost::dmarc
