// TLS-RPT by mail: the rua of a _smtp._tls record, and the report message of RFC 8460 §5.3.
#include "core/tlspolicy/tls_report_mail.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "core/util/text.hpp"

using namespace outpost;
using namespace outpost::tlspolicy;

namespace {

std::string gunzip(const std::string& bytes) {
    z_stream z{};
    REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
    std::string out(1 << 20, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    REQUIRE(rc == Z_STREAM_END);
    out.resize(z.total_out);
    return out;
}

std::string unbase64(std::string text) {
    std::erase_if(text, [](char c) { return c == '\r' || c == '\n'; });
    std::string out(text.size(), '\0');
    int n = EVP_DecodeBlock(
        reinterpret_cast<unsigned char*>(out.data()),
        reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size())
    );
    REQUIRE(n >= 0);
    out.resize(static_cast<std::size_t>(n));
    while (text.ends_with('=')) {  // EVP_DecodeBlock counts padding as zero bytes
        text.pop_back();
        out.pop_back();
    }
    return out;
}

}  // namespace

TEST_CASE("TLS-RPT record: the mailto: addresses of the one v=TLSRPTv1 record") {
    CHECK(
        tlsrpt_mail_addresses({"v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example/x"}) ==
        std::vector<std::string>{"tls@example.com"}
    );
    CHECK(
        tlsrpt_mail_addresses(
            {"v=spf1 -all", "v=TLSRPTv1;rua=mailto:a@example.com, mailto:b@example.net"}
        ) == std::vector<std::string>{"a@example.com", "b@example.net"}
    );
    CHECK(tlsrpt_mail_addresses({}).empty());
    CHECK(tlsrpt_mail_addresses({"v=TLSRPTv1; rua=https://r.example/x"}).empty());
    // Two records: neither is used (RFC 8460 §3); another version is not ours to read.
    CHECK(tlsrpt_mail_addresses({"v=TLSRPTv1; rua=mailto:a@example.com",
                                 "v=TLSRPTv1; rua=mailto:b@example.com"})
              .empty());
    CHECK(tlsrpt_mail_addresses({"v=TLSRPTv10; rua=mailto:a@example.com"}).empty());
    // §3's ABNF: the version and field names are case-sensitive.
    CHECK(tlsrpt_mail_addresses({"V=tlsrptv1; rua=mailto:a@example.com"}).empty());
    CHECK(tlsrpt_mail_addresses({"v=TLSRPTv1; RUA=mailto:a@example.com"}).empty());
    // RFC 6068: a query is not part of the address; %XX escapes are decoded.
    CHECK(
        tlsrpt_mail_addresses({"v=TLSRPTv1; rua=mailto:tls%2Brpt@example.com?subject=x"}) ==
        std::vector<std::string>{"tls+rpt@example.com"}
    );
    CHECK(tlsrpt_mail_addresses({"v=TLSRPTv1; rua=mailto:a%4@example.com"}).empty());
    // Addresses that could not go into RCPT TO as they are.
    CHECK(tlsrpt_mail_addresses({"v=TLSRPTv1; rua=mailto:a b@example.com,mailto:<x@y>,mailto:@y"})
              .empty());
}

TEST_CASE("TLS-RPT mail: RFC 8460 §5.3 headers, and the JSON gzipped in a named attachment") {
    report_mail m;
    m.from = "tls-reports@sender.example";
    m.submitter = "sender.example";
    m.to = {"tlsrpt@example.com", "b@example.net"};
    m.policy_domain = "example.com";
    m.report_id = "20270115.example.com@relay.sender.example\r\nBcc: evil@example.org";
    m.begin = 1'800'000'000 - 1'800'000'000 % 86400;
    m.end = m.begin + 86399;
    m.date = 1'800'050'000;
    m.message_id = "tlsrpt.1@relay.sender.example";
    m.json = R"({"organization-name":"Sender Ltd","policies":[]})";
    auto mail = compose_report_mail(m);

    auto head = mail.substr(0, mail.find("\r\n\r\n"));
    for (const char* want :
         {"From: <tls-reports@sender.example>\r\n",
          "To: <tlsrpt@example.com>,\r\n <b@example.net>\r\n",
          "Subject: Report Domain: example.com Submitter: sender.example "
          "Report-ID: <20270115.example.com@relay.sender.example??Bcc: evil@example.org>\r\n",
          "TLS-Report-Domain: example.com\r\n", "TLS-Report-Submitter: sender.example\r\n",
          "Message-ID: <tlsrpt.1@relay.sender.example>\r\n", "MIME-Version: 1.0\r\n",
          "Content-Type: multipart/report; report-type=\"tlsrpt\";"})
        CHECK_MESSAGE(head.find(want) != std::string::npos, want, " in ", head);
    // Text from elsewhere cannot end a header field and start another.
    CHECK(head.find("\r\nBcc:") == std::string::npos);
    // Every line ends in CRLF and none is longer than RFC 5322 §2.1.1's limit.
    for (auto line : util::split(mail, '\n')) {
        if (line.empty())
            continue;
        CHECK(line.back() == '\r');
        CHECK(line.size() <= 999);
    }

    auto part = mail.find("Content-Type: application/tlsrpt+gzip\r\n");
    REQUIRE(part != std::string::npos);
    auto disposition = mail.find("Content-Disposition: attachment;\r\n filename=\"", part);
    REQUIRE(disposition != std::string::npos);
    auto name_start = mail.find('"', disposition) + 1;
    auto name = mail.substr(name_start, mail.find('"', name_start) - name_start);
    // §5.3: sender "!" policy-domain "!" begin-timestamp "!" end-timestamp ".json.gz"
    CHECK(name == "sender.example!example.com!1799971200!1800057599.json.gz");
    auto body_start = mail.find("\r\n\r\n", part) + 4;
    auto body_end = mail.find("\r\n--", body_start);
    CHECK(gunzip(unbase64(mail.substr(body_start, body_end - body_start))) == m.json);
    CHECK(mail.ends_with("--\r\n"));
}
