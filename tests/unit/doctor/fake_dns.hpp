// A resolver answering from zone-like tables, for the doctor's checks; counts every query.
#pragma once

#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "core/dns/resolver.hpp"
#include "tests/support/run_coroutine.hpp"

namespace outpost::doctor::test {

using ip_address = boost::asio::ip::address;
using boost::asio::ip::make_address;

class fake_dns final : public dns::resolver {
public:
    std::map<std::string, std::vector<std::string>> txt_records;
    std::map<std::string, std::vector<std::string>> addresses;  // A and AAAA
    std::map<std::string, std::vector<dns::mx_record>> mx_records;
    std::map<std::string, std::vector<std::string>> ptr_records;  // by IP text
    std::map<std::string, dns::status> failing;                   // name → servfail/timeout
    std::vector<std::string> asked;                               // "TXT name", in order
    std::chrono::seconds ttl{0};                                  // of every answer with records

    boost::asio::awaitable<dns::answer<dns::mx_record>> mx(std::string name) override {
        asked.push_back("MX " + name);
        co_return lookup(mx_records, name, [](const auto& r) { return r; });
    }

    boost::asio::awaitable<dns::answer<ip_address>> address(std::string host) override {
        asked.push_back("ADDRESS " + host);
        co_return addresses_of(host, true, true);
    }

    boost::asio::awaitable<dns::answer<ip_address>> a(std::string host) override {
        asked.push_back("A " + host);
        co_return addresses_of(host, true, false);
    }

    boost::asio::awaitable<dns::answer<ip_address>> aaaa(std::string host) override {
        asked.push_back("AAAA " + host);
        co_return addresses_of(host, false, true);
    }

    boost::asio::awaitable<dns::answer<std::string>> txt(std::string name) override {
        asked.push_back("TXT " + name);
        co_return lookup(txt_records, name, [](const auto& r) { return r; });
    }

    boost::asio::awaitable<dns::answer<std::string>> ptr(ip_address ip) override {
        asked.push_back("PTR " + ip.to_string());
        co_return lookup(ptr_records, ip.to_string(), [](const auto& r) { return r; });
    }

    boost::asio::awaitable<dns::answer<dns::tlsa_record>> tlsa(std::string name) override {
        asked.push_back("TLSA " + name);
        co_return dns::answer<dns::tlsa_record>{dns::status::nxdomain, {}, {}};
    }

    // A name that exists in some table counts as existing (NODATA rather than NXDOMAIN).
    bool exists(const std::string& name) const {
        return txt_records.count(name) || addresses.count(name) || mx_records.count(name);
    }

private:
    template <class T, class F>
    auto lookup(const std::map<std::string, std::vector<T>>& table, const std::string& name, F f)
        -> dns::answer<decltype(f(std::declval<T>()))> {
        dns::answer<decltype(f(std::declval<T>()))> out;
        if (auto it = failing.find(name); it != failing.end()) {
            out.result = it->second;
            return out;
        }
        auto it = table.find(name);
        if (it == table.end()) {
            out.result = exists(name) ? dns::status::nodata : dns::status::nxdomain;
            return out;
        }
        out.result = dns::status::ok;
        out.ttl = ttl;
        for (const auto& r : it->second)
            out.records.push_back(f(r));
        return out;
    }

    dns::answer<ip_address> addresses_of(const std::string& host, bool v4, bool v6) {
        dns::answer<ip_address> out;
        if (auto it = failing.find(host); it != failing.end()) {
            out.result = it->second;
            return out;
        }
        auto it = addresses.find(host);
        if (it == addresses.end()) {
            out.result = exists(host) ? dns::status::nodata : dns::status::nxdomain;
            return out;
        }
        for (const auto& text : it->second) {
            auto ip = make_address(text);
            if ((ip.is_v4() && v4) || (ip.is_v6() && v6))
                out.records.push_back(ip);
        }
        out.result = out.records.empty() ? dns::status::nodata : dns::status::ok;
        return out;
    }
};

using outpost::test::run;

}  // namespace outpost::doctor::test
