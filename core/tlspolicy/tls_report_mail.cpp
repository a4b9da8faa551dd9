#include "core/tlspolicy/tls_report_mail.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "core/util/text.hpp"

namespace outpost::tlspolicy {

namespace {

// An address we can put in RCPT TO as it is: printable ASCII, one '@', no spaces or brackets.
bool plain_address(std::string_view a) {
    auto at = a.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == a.size() ||
        a.find('@', at + 1) != std::string_view::npos || a.size() > 254)
        return false;
    for (char c : a)
        if (c <= ' ' || c > '~' || c == '<' || c == '>' || c == ',' || c == '"' || c == '\\' ||
            c == '(' || c == ')' || c == ';' || c == ':' || c == '%')
            return false;
    return true;
}

// Header text from others' data (a domain, a report id): printable ASCII only, so that
// nothing can end the field or start another.
std::string header_safe(std::string_view s) {
    std::string out;
    for (char c : s)
        out += c >= ' ' && c <= '~' ? c : '?';
    return out;
}

// The file name's parts must not carry '!' or path separators (§5.3).
std::string file_part(std::string_view s) {
    std::string out;
    for (char c : s)
        out += (c >= ' ' && c <= '~' && c != '!' && c != '/' && c != '\\' && c != '"') ? c : '_';
    return out;
}

std::string boundary() {
    unsigned char r[12];
    if (RAND_bytes(r, sizeof r) != 1)
        throw std::runtime_error("OpenSSL: no random bytes for a MIME boundary");
    std::string out = "=_outpost_tlsrpt_";
    for (auto b : r)
        out += fmt::format("{:02x}", b);
    return out;
}

// RFC 6068 §2: the address part of a mailto: URI, %XX escapes decoded; nullopt when malformed.
std::optional<std::string> mailto_address(std::string_view uri) {
    uri = uri.substr(0, uri.find('?'));
    auto hex = [](char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
    };
    std::string out;
    for (std::size_t i = 0; i < uri.size(); ++i) {
        if (uri[i] != '%') {
            out += uri[i];
            continue;
        }
        if (i + 2 >= uri.size() || hex(uri[i + 1]) < 0 || hex(uri[i + 2]) < 0)
            return std::nullopt;
        out += static_cast<char>(hex(uri[i + 1]) * 16 + hex(uri[i + 2]));
        i += 2;
    }
    return out;
}

}  // namespace

std::vector<std::string> tlsrpt_mail_addresses(const std::vector<std::string>& txt_records) {
    const std::string* record = nullptr;
    for (const auto& r : txt_records) {
        auto t = util::trim(r);
        // §3: "v=TLSRPTv1" first; any other record is not ours to read.
        if (!t.starts_with("v=TLSRPTv1"))
            continue;
        auto rest = util::trim(t.substr(10));
        if (!rest.empty() && rest.front() != ';')
            continue;  // "v=TLSRPTv10" is another version
        if (record)
            return {};  // two records: none is used (§3)
        record = &r;
    }
    if (!record)
        return {};
    std::vector<std::string> out;
    for (auto field : util::split(*record, ';')) {
        field = util::trim(field);
        auto eq = field.find('=');
        if (eq == std::string_view::npos || util::trim(field.substr(0, eq)) != "rua")
            continue;
        for (auto uri : util::split(field.substr(eq + 1), ',')) {
            uri = util::trim(uri);
            if (!util::istarts_with(uri, "mailto:"))
                continue;
            auto address = mailto_address(uri.substr(7));
            if (address && plain_address(*address) &&
                std::find(out.begin(), out.end(), *address) == out.end())
                out.push_back(std::move(*address));
        }
    }
    return out;
}

std::string gzip(std::string_view bytes) {
    z_stream z{};
    // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, Z_FINISH);
    auto written = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END)
        throw std::runtime_error("zlib: deflate did not finish");
    out.resize(written);
    return out;
}

std::string compose_report_mail(const report_mail& m) {
    auto submitter = header_safe(m.submitter);
    auto domain = header_safe(m.policy_domain);
    auto id = header_safe(m.report_id);
    auto mark = boundary();
    auto file = fmt::format(
        "{}!{}!{}!{}.json.gz", file_part(m.submitter), file_part(m.policy_domain), m.begin, m.end
    );
    std::string out;
    out += fmt::format("From: <{}>\r\n", m.from);
    out += fmt::format("To: <{}>\r\n", fmt::join(m.to, ">,\r\n <"));
    out += fmt::format("Date: {}\r\n", util::rfc5322_date(m.date));
    out += fmt::format(
        "Subject: Report Domain: {} Submitter: {} Report-ID: <{}>\r\n", domain, submitter, id
    );
    out += fmt::format("TLS-Report-Domain: {}\r\n", domain);
    out += fmt::format("TLS-Report-Submitter: {}\r\n", submitter);
    out += fmt::format("Message-ID: <{}>\r\n", m.message_id);
    out += "MIME-Version: 1.0\r\n";
    out += fmt::format(
        "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n boundary=\"{}\"\r\n\r\n", mark
    );
    out += fmt::format("--{}\r\n", mark);
    out += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
    out += fmt::format(
        "This is an aggregate TLS report (RFC 8460) from {} for {}.\r\n\r\n", submitter, domain
    );
    out += fmt::format("--{}\r\n", mark);
    out += "Content-Type: application/tlsrpt+gzip\r\n";
    out += "Content-Transfer-Encoding: base64\r\n";
    out += fmt::format("Content-Disposition: attachment;\r\n filename=\"{}\"\r\n\r\n", file);
    auto encoded = util::base64_encode(gzip(m.json));
    for (std::size_t i = 0; i < encoded.size(); i += 76)
        out += encoded.substr(i, 76) + "\r\n";
    out += fmt::format("--{}--\r\n", mark);
    return out;
}

}  // namespace outpost::tlspolicy
