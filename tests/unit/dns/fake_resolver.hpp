// A resolver that answers from tables, for tests of the logic above the DNS seam.
#pragma once

#include <exception>
#include <map>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "core/dns/resolver.hpp"
#include "tests/support/run_coroutine.hpp"

namespace outpost::dns::test {

class fake_resolver final : public resolver {
public:
    std::map<std::string, answer<mx_record>> mx_answers;
    std::map<std::string, answer<boost::asio::ip::address>> address_answers;  // A and AAAA
    std::map<std::string, answer<tlsa_record>> tlsa_answers;
    std::vector<std::string> asked;  // "MX name", "ADDRESS name", in order

    boost::asio::awaitable<answer<mx_record>> mx(std::string domain) override {
        asked.push_back("MX " + domain);
        co_return find(mx_answers, domain);
    }

    boost::asio::awaitable<answer<boost::asio::ip::address>> address(std::string host) override {
        asked.push_back("ADDRESS " + host);
        co_return find(address_answers, host);
    }

    boost::asio::awaitable<answer<boost::asio::ip::address>> a(std::string host) override {
        auto all = find(address_answers, host);
        std::erase_if(all.records, [](const auto& ip) { return !ip.is_v4(); });
        co_return all;
    }

    boost::asio::awaitable<answer<boost::asio::ip::address>> aaaa(std::string host) override {
        auto all = find(address_answers, host);
        std::erase_if(all.records, [](const auto& ip) { return !ip.is_v6(); });
        co_return all;
    }

    boost::asio::awaitable<answer<std::string>> txt(std::string) override {
        co_return answer<std::string>{status::nxdomain, {}, {}};
    }

    boost::asio::awaitable<answer<std::string>> ptr(boost::asio::ip::address) override {
        co_return answer<std::string>{status::nxdomain, {}, {}};
    }

    boost::asio::awaitable<answer<tlsa_record>> tlsa(std::string name) override {
        asked.push_back("TLSA " + name);
        co_return find(tlsa_answers, name);
    }

private:
    template <class T>
    static answer<T> find(const std::map<std::string, answer<T>>& table, const std::string& name) {
        auto it = table.find(name);
        if (it == table.end())
            return answer<T>{status::nxdomain, {}, {}};
        return it->second;
    }
};

using outpost::test::run;

}  // namespace outpost::dns::test
