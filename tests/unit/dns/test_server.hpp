// A DNS server inside the test process, on 127.0.0.1 UDP and TCP (same port), answering from a
// function and counting the queries it gets. It runs on the test's io_context.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "tests/unit/dns/wire.hpp"

namespace outpost::dns::test {

class test_server {
public:
    // nullopt: stay silent (the client times out).
    using answer_fn = std::function<std::optional<response>(const detail::question&)>;

    test_server(boost::asio::io_context& ctx, answer_fn fn)
        : udp_(ctx), tcp_(ctx), fn_(std::move(fn)) {
        bind_both();
        auto log = [](std::exception_ptr) {};  // the loops end when stop() closes the sockets
        boost::asio::co_spawn(ctx, serve_udp(), log);
        boost::asio::co_spawn(ctx, serve_tcp(), log);
    }

    std::uint16_t port() const { return port_; }

    // Queries seen for name and type, over UDP and TCP together.
    int queries(const std::string& name, std::uint16_t type) const {
        auto it = counts_.find({name, type});
        return it == counts_.end() ? 0 : it->second;
    }

    int tcp_queries() const { return tcp_count_; }

    // Query IDs seen, and how many queries with EDNS were refused with FORMERR.
    const std::set<std::uint16_t>& ids() const { return ids_; }

    int formerr_answers() const { return formerr_count_; }

    void stop() {
        boost::system::error_code ec;
        udp_.close(ec);
        tcp_.close(ec);
    }

    // Answers over UDP say "truncated" and carry no records, so the client must use TCP.
    bool truncate_udp = false;
    // Answers a query with EDNS FORMERR without an OPT record, as a server without EDNS does.
    bool refuse_edns = false;

private:
    // A free UDP port, then TCP on the same number: another process (a test running beside this
    // one) may hold that TCP port, so a taken one means another UDP port, not a failed test.
    void bind_both() {
        auto loopback = boost::asio::ip::make_address("127.0.0.1");
        for (int attempt = 0;; ++attempt) {
            udp_.open(boost::asio::ip::udp::v4());
            udp_.bind({loopback, 0});
            port_ = udp_.local_endpoint().port();
            boost::system::error_code ec;
            tcp_.open(boost::asio::ip::tcp::v4());
            tcp_.set_option(boost::asio::socket_base::reuse_address(true));
            tcp_.bind({loopback, port_}, ec);
            if (!ec)
                tcp_.listen(boost::asio::socket_base::max_listen_connections, ec);
            if (!ec)
                return;
            tcp_.close();
            udp_.close();
            if (attempt == 100)
                throw boost::system::system_error(ec, "bind");
        }
    }

    std::optional<bytes> answer(std::span<const std::uint8_t> query, bool over_udp) {
        auto m = detail::parse_message(query);
        if (!m || m->questions.size() != 1)
            return std::nullopt;
        const auto& q = m->questions[0];
        ++counts_[{q.name, q.type}];
        ids_.insert(m->id);
        // ARCOUNT (bytes 10-11): the OPT record of EDNS is the only additional record sent.
        bool edns = query.size() >= 12 && (query[10] != 0 || query[11] != 0);
        if (edns && refuse_edns) {
            response formerr;
            formerr.rcode = detail::rcode::formerr;
            formerr.id = m->id;
            formerr.qname = q.name;
            formerr.qtype = q.type;
            ++formerr_count_;
            return build(formerr);
        }
        auto r = fn_(q);
        if (!r)
            return std::nullopt;
        r->id = m->id;
        // As a validating resolver does (RFC 6840 §5.7): AD only for a query that asks for it.
        r->authenticated = r->authenticated && m->authenticated;
        r->qname = q.name;
        r->qtype = q.type;
        if (over_udp && truncate_udp) {
            r->truncated = true;
            r->answers.clear();
            r->authorities.clear();
        }
        return build(*r);
    }

    boost::asio::awaitable<void> serve_udp() {
        std::array<std::uint8_t, 4096> buffer{};
        while (true) {
            boost::asio::ip::udp::endpoint from;
            auto n = co_await udp_.async_receive_from(
                boost::asio::buffer(buffer), from, boost::asio::use_awaitable
            );
            if (auto reply = answer({buffer.data(), n}, true))
                co_await udp_.async_send_to(
                    boost::asio::buffer(*reply), from, boost::asio::use_awaitable
                );
        }
    }

    boost::asio::awaitable<void> serve_tcp() {
        while (true) {
            auto s = co_await tcp_.async_accept(boost::asio::use_awaitable);
            boost::asio::co_spawn(
                tcp_.get_executor(), serve_connection(std::move(s)), [](std::exception_ptr) {}
            );
        }
    }

    // RFC 1035 §4.2.2: each message is preceded by its length in two bytes.
    boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket s) {
        while (true) {
            std::array<std::uint8_t, 2> length{};
            co_await boost::asio::async_read(
                s, boost::asio::buffer(length), boost::asio::use_awaitable
            );
            bytes query(static_cast<std::size_t>(length[0] << 8 | length[1]));
            co_await boost::asio::async_read(
                s, boost::asio::buffer(query), boost::asio::use_awaitable
            );
            ++tcp_count_;
            auto reply = answer(query, false);
            if (!reply)
                continue;
            bytes framed;
            put16(framed, static_cast<std::uint16_t>(reply->size()));
            framed.insert(framed.end(), reply->begin(), reply->end());
            co_await boost::asio::async_write(
                s, boost::asio::buffer(framed), boost::asio::use_awaitable
            );
        }
    }

    boost::asio::ip::udp::socket udp_;
    boost::asio::ip::tcp::acceptor tcp_;
    std::uint16_t port_ = 0;
    answer_fn fn_;
    std::map<std::pair<std::string, std::uint16_t>, int> counts_;
    int tcp_count_ = 0;
    std::set<std::uint16_t> ids_;
    int formerr_count_ = 0;
};

}  // namespace outpost::dns::test
