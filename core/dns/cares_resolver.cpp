// The c-ares resolver on Asio: c-ares sockets are watched with stream_descriptor::async_wait and
// its timeouts with a steady_timer, and every look-up is an asynchronous operation to co_await.
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>

#include <ares.h>
#include <arpa/inet.h>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/rand.h>
#include <poll.h>

#include "core/dns/detail/cache.hpp"
#include "core/dns/detail/message.hpp"
#include "core/dns/resolver.hpp"
#include "core/util/log.hpp"

namespace outpost::dns {

namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

// EDNS0 payload size (DNS Flag Day 2020).
constexpr int edns_payload = 1232;

// What c-ares hands its callback: a status and, when a response arrived, its bytes.
struct raw_reply {
    int status = ARES_EDESTRUCTION;
    std::vector<std::uint8_t> bytes;
};

// One look-up in flight. c-ares holds a shared_ptr to it (the callback argument) and the
// cancellation slot a weak_ptr; whichever comes first completes the handler, the other finds it
// done. Completion is always posted, so user code never runs inside c-ares, where destroying the
// resolver (ares_destroy) would pull the channel out from under ares_process_fd.
class pending : public std::enable_shared_from_this<pending> {
public:
    virtual ~pending() = default;
    // From c-ares: the slot is still ours, so it is cleared before completing.
    virtual void finish(raw_reply r) = 0;
    // From the cancellation slot, inside the slot's own handler, which must stay installed.
    virtual void cancel() = 0;
};

template <class Handler>
class pending_op final : public pending {
public:
    pending_op(Handler h, const asio::any_io_executor& fallback)
        : handler_(std::move(h)),
          work_(asio::prefer(
              asio::get_associated_executor(*handler_, fallback),
              asio::execution::outstanding_work.tracked
          )) {}

    void connect_cancellation() {
        slot_ = asio::get_associated_cancellation_slot(*handler_);
        if (slot_.is_connected())
            slot_.template emplace<canceller>(weak_from_this());
    }

    void finish(raw_reply r) override {
        if (!handler_)
            return;
        if (slot_.is_connected())
            slot_.clear();
        complete(std::move(r));
    }

    void cancel() override {
        if (handler_)
            complete(raw_reply{ARES_ECANCELLED, {}});
    }

private:
    struct canceller {
        std::weak_ptr<pending> op;

        void operator()(asio::cancellation_type type) const {
            if (type == asio::cancellation_type::none)
                return;
            if (auto p = op.lock())
                p->cancel();
        }
    };

    void complete(raw_reply r) {
        auto h = std::move(*handler_);
        handler_.reset();
        // The tracked executor keeps the io_context running until the completion is queued.
        auto ex = std::move(work_);
        asio::post(ex, asio::append(std::move(h), std::move(r)));
    }

    std::optional<Handler> handler_;
    asio::any_io_executor work_;
    asio::cancellation_slot slot_;
};

std::once_flag library_once;

// Owns the c-ares channel and everything its callbacks touch. Shared with the handlers that are
// pending on it, so a resolver destroyed mid-flight leaves them a live object to find stopped.
class engine : public std::enable_shared_from_this<engine> {
public:
    engine(asio::any_io_executor ex, const resolver_options& options)
        : ex_(std::move(ex)), timer_(ex_), cache_enabled_(options.cache) {
        std::call_once(library_once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
        ares_options o{};
        o.sock_state_cb = &engine::on_socket_state;
        o.sock_state_cb_data = this;
        o.timeout = static_cast<int>(options.timeout.count());
        o.tries = options.tries;
        // EDNS0 with the 1232-byte payload of DNS Flag Day 2020: long TXT answers (DKIM keys)
        // fit in one UDP datagram. c-ares still falls back to TCP on truncation, and retries
        // without EDNS when a server answers FORMERR.
        o.flags = ARES_FLAG_EDNS;
        o.ednspsz = edns_payload;
        int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
                   ARES_OPT_EDNSPSZ;
        auto servers = server_list(options.servers);  // throws before there is a channel to leak
        if (int rc = ares_init_options(&channel_, &o, mask); rc != ARES_SUCCESS)
            throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
        if (!servers.empty()) {
            if (int rc = ares_set_servers_ports(channel_, servers.data()); rc != ARES_SUCCESS) {
                ares_destroy(std::exchange(channel_, nullptr));
                throw std::runtime_error(std::string("c-ares servers: ") + ares_strerror(rc));
            }
        }
        trust_ad_ = servers_on_this_host();
    }

    // The AD bit is worth only as much as the path from the resolver (RFC 7672 §2.1, RFC 4035
    // §4.9.3): it is believed from resolvers on this host (loopback) alone.
    bool trusts_ad() const { return trust_ad_; }

    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    ~engine() { shutdown(); }

    const asio::any_io_executor& executor() const { return ex_; }

    bool stopped() const { return channel_ == nullptr; }

    bool cache_enabled() const { return cache_enabled_ && channel_ != nullptr; }

    // Sends a query; op completes from on_answer, from ares_destroy, or at once when stopped.
    void start(const std::string& name, std::uint16_t type, std::shared_ptr<pending> op) {
        if (!channel_) {
            op->finish(raw_reply{ARES_EDESTRUCTION, {}});
            return;
        }
        // ares_query's own query, with AD set: without it a validating resolver leaves AD clear
        // (RFC 6840 §5.7), and c-ares 1.18 has no flag for it.
        // ares_send keeps the query's ID as it is, so the ID is ours to make unpredictable
        // (RFC 5452 §9.2), as ares_query would.
        std::uint16_t id = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof id) != 1) {
            op->finish(raw_reply{ARES_ENOMEM, {}});
            return;
        }
        unsigned char* query = nullptr;
        int length = 0;
        if (int rc = ares_create_query(
                name.c_str(), detail::class_in, type, id, 1, &query, &length, edns_payload_
            );
            rc != ARES_SUCCESS) {
            op->finish(raw_reply{rc, {}});
            return;
        }
        query[3] |= 0x20;  // the AD bit, in the second byte of the flags
        auto* arg = new std::shared_ptr<pending>(std::move(op));
        ares_send(channel_, query, length, &engine::on_answer, arg);
        ares_free_string(query);
        arm_timer();
    }

    // c-ares retries a query without EDNS when a server answers FORMERR and then clears
    // ARES_FLAG_EDNS for the channel; the queries built here follow it from then on. True when
    // that changed (the caller asks once more).
    bool follow_edns_fallback() {
        if (!channel_ || edns_payload_ == 0)
            return false;
        ares_options o{};
        int mask = 0;
        if (ares_save_options(channel_, &o, &mask) != ARES_SUCCESS)
            return false;
        bool off = (o.flags & ARES_FLAG_EDNS) == 0;
        ares_destroy_options(&o);
        if (off)
            edns_payload_ = 0;
        return off;
    }

    // ares_destroy completes every pending query with ARES_EDESTRUCTION (posted, see pending) and
    // reports its sockets closed; what is left of the watchers is released without closing,
    // because the descriptors belong to c-ares.
    void shutdown() {
        if (!channel_)
            return;
        ares_destroy(std::exchange(channel_, nullptr));
        ++timer_serial_;
        timer_.cancel();
        for (auto& [fd, w] : watchers_)
            w->descriptor.release();
        watchers_.clear();
    }

    detail::answer_cache<mx_record> mx_cache;
    detail::answer_cache<asio::ip::address> a_cache;
    detail::answer_cache<asio::ip::address> aaaa_cache;
    detail::answer_cache<std::string> txt_cache;
    detail::answer_cache<std::string> ptr_cache;
    detail::answer_cache<tlsa_record> tlsa_cache;

private:
    enum direction : std::size_t { read = 0, write = 1 };

    struct watcher {
        watcher(const asio::any_io_executor& ex, std::uint64_t s) : descriptor(ex), serial(s) {}

        asio::posix::stream_descriptor descriptor;
        std::uint64_t serial;  // tells a stale wait on a reused descriptor number from a live one
        std::array<bool, 2> wanted{};
        std::array<bool, 2> armed{};
        std::array<int, 2> immediate{};  // re-runs in a row without waiting, to bound spinning
    };

    // The servers as c-ares' linked list, which points into the returned vector.
    static std::vector<ares_addr_port_node> server_list(const std::vector<server_address>& servers
    ) {
        std::vector<ares_addr_port_node> nodes(servers.size());
        for (std::size_t i = 0; i < servers.size(); ++i) {
            std::string text = servers[i].ip;
            if (text.size() > 2 && text.front() == '[' && text.back() == ']')
                text = text.substr(1, text.size() - 2);
            boost::system::error_code ec;
            auto ip = asio::ip::make_address(text, ec);
            if (ec)
                throw std::runtime_error(
                    "DNS server \"" + servers[i].ip + "\" is not an IP address"
                );
            auto& n = nodes[i];
            n.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
            if (ip.is_v4()) {
                n.family = AF_INET;
                auto b = ip.to_v4().to_bytes();
                std::memcpy(&n.addr.addr4, b.data(), b.size());
            } else {
                n.family = AF_INET6;
                auto b = ip.to_v6().to_bytes();
                std::memcpy(&n.addr.addr6, b.data(), b.size());
            }
            n.udp_port = servers[i].port;
            n.tcp_port = servers[i].port;
        }
        return nodes;
    }

    static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
        std::unique_ptr<std::shared_ptr<pending>> op(static_cast<std::shared_ptr<pending>*>(arg));
        raw_reply r{status, {}};
        if (abuf != nullptr && alen > 0)
            r.bytes.assign(abuf, abuf + alen);
        (*op)->finish(std::move(r));
    }

    // c-ares says which sockets to watch for what; (0, 0) comes just before it closes one.
    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
        auto* self = static_cast<engine*>(data);
        if (!readable && !writable) {
            self->forget(fd);
            return;
        }
        auto& slot = self->watchers_[fd];
        if (!slot) {
            slot = std::make_unique<watcher>(self->ex_, ++self->watcher_serial_);
            boost::system::error_code ec;
            slot->descriptor.assign(fd, ec);
            if (ec) {
                // Without a watcher the query still ends: the timer makes c-ares time it out.
                log::warn("dns_watch_failed", {{"error", ec.message()}});
                self->watchers_.erase(fd);
                return;
            }
        }
        slot->wanted = {readable != 0, writable != 0};
        self->arm(fd);
    }

    void forget(int fd) {
        auto it = watchers_.find(fd);
        if (it == watchers_.end())
            return;
        it->second->descriptor.release();  // cancels its waits; the descriptor stays c-ares'
        watchers_.erase(it);
    }

    static bool ready_now(int fd, direction d) {
        pollfd p{fd, static_cast<short>(d == read ? POLLIN : POLLOUT), 0};
        return ::poll(&p, 1, 0) > 0 && (p.revents & POLLNVAL) == 0;
    }

    // Asio's reactor is edge-triggered, and c-ares may leave bytes unread (a TCP answer arrives
    // in pieces), so readiness is checked with poll(2) before waiting: a socket that is ready
    // now is processed again right away instead of waiting for an edge that will not come.
    void arm(int fd) {
        auto it = watchers_.find(fd);
        if (it == watchers_.end())
            return;
        auto& w = *it->second;
        for (direction d : {read, write}) {
            if (!w.wanted[d] || w.armed[d])
                continue;
            w.armed[d] = true;
            auto done = [self = shared_from_this(), fd, serial = w.serial,
                         d](boost::system::error_code ec) { self->on_ready(fd, serial, d, ec); };
            if (w.immediate[d] < 16 && ready_now(fd, d)) {
                ++w.immediate[d];
                asio::post(ex_, asio::append(std::move(done), boost::system::error_code{}));
            } else {
                w.immediate[d] = 0;
                w.descriptor.async_wait(
                    d == read ? asio::posix::descriptor_base::wait_read
                              : asio::posix::descriptor_base::wait_write,
                    std::move(done)
                );
            }
        }
    }

    void on_ready(int fd, std::uint64_t serial, direction d, boost::system::error_code ec) {
        auto it = watchers_.find(fd);
        if (it == watchers_.end() || it->second->serial != serial)
            return;  // c-ares closed that socket meanwhile
        it->second->armed[d] = false;
        if (ec == asio::error::operation_aborted || !channel_)
            return;
        // Other errors go to c-ares too: it reads the socket's error and fails over.
        ares_process_fd(
            channel_, d == read ? fd : ARES_SOCKET_BAD, d == write ? fd : ARES_SOCKET_BAD
        );
        arm(fd);
        arm_timer();
    }

    // One timer for the channel, due when c-ares' earliest query times out (ares_timeout).
    void arm_timer() {
        timeval tv{};
        if (!channel_ || ares_timeout(channel_, nullptr, &tv) == nullptr) {
            if (timer_armed_) {
                ++timer_serial_;
                timer_.cancel();
                timer_armed_ = false;
            }
            return;
        }
        auto due =
            clock::now() + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
        // Re-arming on every socket event would churn the timer; a millisecond either way is
        // the same deadline.
        if (timer_armed_ && due - timer_.expiry() < std::chrono::milliseconds(1) &&
            timer_.expiry() - due < std::chrono::milliseconds(1))
            return;
        timer_.expires_at(due);
        timer_armed_ = true;
        timer_.async_wait([self = shared_from_this(),
                           serial = ++timer_serial_](boost::system::error_code ec) {
            // A wait that had already expired when the timer was re-armed completes without
            // error; the serial tells it apart.
            if (ec || serial != self->timer_serial_ || !self->channel_)
                return;
            self->timer_armed_ = false;
            ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            self->arm_timer();
        });
    }

    asio::any_io_executor ex_;
    ares_channel channel_ = nullptr;
    std::map<int, std::unique_ptr<watcher>> watchers_;
    std::uint64_t watcher_serial_ = 0;
    asio::steady_timer timer_;
    bool timer_armed_ = false;
    std::uint64_t timer_serial_ = 0;
    bool cache_enabled_;
    int edns_payload_ = edns_payload;  // 0: no EDNS (the server did not understand it)
    bool trust_ad_ = false;

    bool servers_on_this_host() const {
        ares_addr_port_node* list = nullptr;
        if (ares_get_servers_ports(channel_, &list) != ARES_SUCCESS)
            return false;
        bool local = list != nullptr;
        for (auto* n = list; n; n = n->next) {
            if (n->family == AF_INET)
                local = local && (ntohl(n->addr.addr4.s_addr) >> 24) == 127;
            else if (n->family == AF_INET6)
                local = local && std::memcmp(&n->addr.addr6, &in6addr_loopback, 16) == 0;
            else
                local = false;
        }
        ares_free_data(list);
        return local;
    }
};

template <class CompletionToken>
auto async_query(
    std::shared_ptr<engine> e, std::string name, std::uint16_t type, CompletionToken&& token
) {
    return asio::async_initiate<CompletionToken, void(raw_reply)>(
        [](auto handler, std::shared_ptr<engine> eng, std::string qname, std::uint16_t qtype) {
            using handler_type = std::decay_t<decltype(handler)>;
            auto op =
                std::make_shared<pending_op<handler_type>>(std::move(handler), eng->executor());
            op->connect_cancellation();
            eng->start(qname, qtype, std::move(op));
        },
        token, std::move(e), std::move(name), type
    );
}

status from_ares(int code) {
    switch (code) {
        case ARES_ENOTFOUND:
            return status::nxdomain;
        case ARES_ENODATA:
            return status::nodata;
        case ARES_ESERVFAIL:
        // c-ares 1.18 fails over on SERVFAIL, NOTIMP and REFUSED and, when no server is left,
        // reports ECONNREFUSED rather than the servers' answer (1.19 reports ESERVFAIL). Either
        // way the servers could not answer: temporary, as RFC 5321 §5.1 wants for SERVFAIL.
        case ARES_ECONNREFUSED:
            return status::servfail;
        case ARES_ETIMEOUT:
            return status::timeout;
        default:
            return status::error;
    }
}

const char* type_name(std::uint16_t type) {
    switch (type) {
        case detail::rr_type::a:
            return "A";
        case detail::rr_type::aaaa:
            return "AAAA";
        case detail::rr_type::mx:
            return "MX";
        case detail::rr_type::txt:
            return "TXT";
        case detail::rr_type::ptr:
            return "PTR";
        case detail::rr_type::tlsa:
            return "TLSA";
        default:
            return "?";
    }
}

template <class T>
using cache_member = detail::answer_cache<T> engine::*;

// One look-up of one type: the cache, else c-ares, then the answer decoded by convert
// (record -> optional<T>) and cached. The frame holds the engine, so it outlives the resolver.
template <class T, class Convert>
asio::awaitable<answer<T>> lookup(
    std::shared_ptr<engine> e,
    std::string name,
    std::uint16_t type,
    cache_member<T> cache,
    Convert convert
) {
    answer<T> out;
    auto qname = detail::normalize_name(name);
    if (!qname) {
        // Not a host name, so no such name can exist; never cached, never sent.
        out.result = status::nxdomain;
        co_return out;
    }
    if (e->cache_enabled()) {
        if (auto hit = ((*e).*cache).get(*qname, clock::now())) {
            log::debug(
                "dns_answer", {{"name", *qname},
                               {"type", type_name(type)},
                               {"status", to_string(hit->result)},
                               {"ttl", hit->ttl.count()},
                               {"cached", "yes"}}
            );
            co_return std::move(*hit);
        }
    }
    auto reply = co_await async_query(e, *qname, type, asio::use_awaitable);
    if (auto m = detail::parse_message(reply.bytes);
        m && m->rcode == detail::rcode::formerr && e->follow_edns_fallback())
        reply = co_await async_query(e, *qname, type, asio::use_awaitable);
    if (reply.bytes.empty()) {
        out.result = from_ares(reply.status);
    } else if (auto m = detail::parse_message(reply.bytes)) {
        auto meaning = detail::interpret(*m, *qname, type);
        out.result = meaning.result;
        out.ttl = meaning.ttl;
        out.authenticated = m->authenticated && e->trusts_ad();
        for (const auto* rr : meaning.records) {
            if (auto v = convert(*rr))
                out.records.push_back(std::move(*v));
        }
    } else {
        out.result = status::error;  // c-ares accepted it, the reader did not: malformed
    }
    log::debug(
        "dns_answer", {{"name", *qname},
                       {"type", type_name(type)},
                       {"status", to_string(out.result)},
                       {"ttl", out.ttl.count()},
                       {"authenticated", out.authenticated ? "yes" : "no"},
                       {"cached", "no"}}
    );
    if (e->cache_enabled())
        ((*e).*cache).put(*qname, out, clock::now());
    co_return out;
}

asio::awaitable<answer<asio::ip::address>> lookup_a(std::shared_ptr<engine> e, std::string host) {
    return lookup(
        std::move(e), std::move(host), detail::rr_type::a, &engine::a_cache,
        [](const detail::record& rr) -> std::optional<asio::ip::address> {
            if (const auto* v = std::get_if<asio::ip::address_v4>(&rr.data))
                return asio::ip::address(*v);
            return std::nullopt;
        }
    );
}

asio::awaitable<answer<asio::ip::address>> lookup_aaaa(
    std::shared_ptr<engine> e, std::string host
) {
    return lookup(
        std::move(e), std::move(host), detail::rr_type::aaaa, &engine::aaaa_cache,
        [](const detail::record& rr) -> std::optional<asio::ip::address> {
            if (const auto* v = std::get_if<asio::ip::address_v6>(&rr.data))
                return asio::ip::address(*v);
            return std::nullopt;
        }
    );
}

bool temporary(status s) {
    return s == status::servfail || s == status::timeout || s == status::error;
}

asio::awaitable<answer<asio::ip::address>> lookup_address(
    std::shared_ptr<engine> e, std::string host
) {
    using namespace asio::experimental::awaitable_operators;
    auto [v4, v6] = co_await (lookup_a(e, host) && lookup_aaaa(e, host));
    answer<asio::ip::address> out;
    if (v4.ok() || v6.ok()) {
        out.result = status::ok;
        out.ttl = std::chrono::seconds::max();
        // Validated when every family that has addresses is: a failed or empty look-up of the
        // other family does not count (a validating resolver turns a forged answer into a
        // SERVFAIL, which must not switch DANE off for the addresses that are validated).
        out.authenticated = true;
        for (auto* part : {&v4, &v6}) {
            if (!part->ok())
                continue;
            out.authenticated = out.authenticated && part->authenticated;
            out.records.insert(out.records.end(), part->records.begin(), part->records.end());
            out.ttl = std::min(out.ttl, part->ttl);
        }
        co_return out;
    }
    // Neither family answered: a temporary failure of either must not turn into a permanent
    // "no such host".
    if (temporary(v4.result) || temporary(v6.result)) {
        out.result = temporary(v4.result) ? v4.result : v6.result;
        co_return out;
    }
    out.result = v4.result == status::nxdomain && v6.result == status::nxdomain ? status::nxdomain
                                                                                : status::nodata;
    out.ttl = std::min(v4.ttl, v6.ttl);
    out.authenticated = v4.authenticated && v6.authenticated;
    co_return out;
}

class cares_resolver final : public resolver {
public:
    cares_resolver(asio::any_io_executor ex, const resolver_options& options)
        : engine_(std::make_shared<engine>(std::move(ex), options)) {}

    cares_resolver(const cares_resolver&) = delete;
    cares_resolver& operator=(const cares_resolver&) = delete;

    ~cares_resolver() override { engine_->shutdown(); }

    // Each method returns a coroutine that holds the engine itself, never `this`.
    asio::awaitable<answer<mx_record>> mx(std::string domain) override {
        return lookup(
            engine_, std::move(domain), detail::rr_type::mx, &engine::mx_cache,
            [](const detail::record& rr) -> std::optional<mx_record> {
                if (const auto* v = std::get_if<detail::mx_rdata>(&rr.data))
                    return mx_record{v->preference, v->exchange};
                return std::nullopt;
            }
        );
    }

    asio::awaitable<answer<asio::ip::address>> address(std::string host) override {
        return lookup_address(engine_, std::move(host));
    }

    asio::awaitable<answer<asio::ip::address>> a(std::string host) override {
        return lookup_a(engine_, std::move(host));
    }

    asio::awaitable<answer<asio::ip::address>> aaaa(std::string host) override {
        return lookup_aaaa(engine_, std::move(host));
    }

    asio::awaitable<answer<std::string>> txt(std::string name) override {
        return lookup(
            engine_, std::move(name), detail::rr_type::txt, &engine::txt_cache,
            [](const detail::record& rr) -> std::optional<std::string> {
                const auto* v = std::get_if<detail::txt_rdata>(&rr.data);
                if (!v)
                    return std::nullopt;
                std::string joined;
                for (const auto& s : v->strings)
                    joined += s;
                return joined;
            }
        );
    }

    asio::awaitable<answer<std::string>> ptr(asio::ip::address ip) override {
        return lookup(
            engine_, detail::reverse_name(ip), detail::rr_type::ptr, &engine::ptr_cache,
            [](const detail::record& rr) -> std::optional<std::string> {
                if (const auto* v = std::get_if<detail::name_rdata>(&rr.data))
                    return v->name;
                return std::nullopt;
            }
        );
    }

    asio::awaitable<answer<tlsa_record>> tlsa(std::string name) override {
        return lookup(
            engine_, std::move(name), detail::rr_type::tlsa, &engine::tlsa_cache,
            [](const detail::record& rr) -> std::optional<tlsa_record> {
                const auto* v = std::get_if<detail::tlsa_rdata>(&rr.data);
                if (!v)
                    return std::nullopt;
                return tlsa_record{v->usage, v->selector, v->matching_type, v->data};
            }
        );
    }

    void shutdown() override { engine_->shutdown(); }

    bool trusts_authenticated_data() const override { return engine_->trusts_ad(); }

private:
    std::shared_ptr<engine> engine_;
};

}  // namespace

std::unique_ptr<resolver> make_cares_resolver(asio::any_io_executor ex, resolver_options options) {
    return std::make_unique<cares_resolver>(std::move(ex), options);
}

}  // namespace outpost::dns
