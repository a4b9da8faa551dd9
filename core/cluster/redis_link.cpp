#include "core/cluster/redis_link.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "core/util/log.hpp"

namespace outpost::cluster {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

constexpr auto reconnect_pause = std::chrono::seconds(1);
constexpr auto ping_interval = std::chrono::seconds(2);

}  // namespace

redis_value copy_reply(const redisReply& r) {
    redis_value v;
    switch (r.type) {
        case REDIS_REPLY_STRING:
            v.kind = redis_value::type::string;
            v.text.assign(r.str, r.len);
            break;
        case REDIS_REPLY_STATUS:
            v.kind = redis_value::type::status;
            v.text.assign(r.str, r.len);
            break;
        case REDIS_REPLY_ERROR:
            v.kind = redis_value::type::error;
            v.text.assign(r.str, r.len);
            break;
        case REDIS_REPLY_INTEGER:
            v.kind = redis_value::type::integer;
            v.integer = r.integer;
            break;
        case REDIS_REPLY_ARRAY:
            v.kind = redis_value::type::array;
            v.items.reserve(r.elements);
            for (std::size_t i = 0; i < r.elements; ++i)
                v.items.push_back(copy_reply(*r.element[i]));
            break;
        default:
            break;
    }
    return v;
}

std::vector<std::string> texts_of(const redis_value& v) {
    std::vector<std::string> out;
    if (v.kind == redis_value::type::array)
        for (const auto& item : v.items)
            out.push_back(item.text);
    return out;
}

struct redis_link::pending {
    reply_fn done;
    clock::time_point sent;
};

struct redis_link::subscription {
    redis_link* link;
    std::string channel;
    message_fn on_message;
};

std::shared_ptr<redis_link> redis_link::create(
    asio::any_io_executor executor, redis_endpoint endpoint, std::string name
) {
    return std::shared_ptr<redis_link>(
        new redis_link(std::move(executor), std::move(endpoint), std::move(name))
    );
}

redis_link::redis_link(asio::any_io_executor executor, redis_endpoint endpoint, std::string name)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      name_(std::move(name)),
      reconnect_timer_(executor_),
      watch_timer_(executor_) {}

redis_link::~redis_link() {
    stopping_ = true;
    if (context_)
        redisAsyncFree(context_);
}

void redis_link::subscribe(std::string channel, message_fn f) {
    subscriptions_.push_back(std::make_unique<subscription>(subscription{
        this, std::move(channel), std::move(f)}));
}

void redis_link::start() {
    if (started_)
        return;
    started_ = true;
    connect();
    schedule_watch();
}

void redis_link::stop() {
    stopping_ = true;
    reconnect_timer_.cancel();
    watch_timer_.cancel();
    if (context_)
        redisAsyncFree(context_);
}

asio::awaitable<void> redis_link::close(std::chrono::milliseconds limit) {
    stopping_ = true;
    reconnect_timer_.cancel();
    watch_timer_.cancel();
    if (!context_)
        co_return;
    redisAsyncDisconnect(context_);
    auto deadline = clock::now() + limit;
    asio::steady_timer pause(executor_);
    while (context_ && clock::now() < deadline) {
        pause.expires_after(std::chrono::milliseconds(10));
        co_await pause.async_wait(asio::use_awaitable);
    }
    if (context_)
        redisAsyncFree(context_);
}

void redis_link::connect() {
    if (stopping_ || context_)
        return;
    redisAsyncContext* ac =
        endpoint_.socket_path.empty()
            ? redisAsyncConnect(endpoint_.host.c_str(), static_cast<int>(endpoint_.port))
            : redisAsyncConnectUnix(endpoint_.socket_path.c_str());
    if (!ac || ac->err) {
        std::string why = ac ? ac->errstr : "out of memory";
        if (ac)
            redisAsyncFree(ac);
        if (why != last_error_)
            log::warn("redis_unreachable", {{"link", name_}, {"error", why}});
        last_error_ = why;
        schedule_reconnect();
        return;
    }
    context_ = ac;
    ++generation_;
    want_read_ = want_write_ = read_armed_ = write_armed_ = false;
    confirmed_ = 0;
    ac->data = this;
    ac->ev.data = this;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    socket_ = std::make_shared<asio::posix::stream_descriptor>(executor_, ac->c.fd);
    // A peer that vanished without a FIN (a half-open connection) is found by TCP keepalive; a
    // subscriber has no replies to time out on.
    if (endpoint_.socket_path.empty())
        redisEnableKeepAlive(&ac->c);
    connect_started_ = clock::now();
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    handshake();
}

// AUTH, SELECT, then SUBSCRIBE or PING: the link is up when the last of them is answered.
void redis_link::handshake() {
    auto generation = generation_;
    auto self = shared_from_this();
    auto failed = [self, generation](std::string why) {
        if (generation != self->generation_ || !self->context_)
            return;
        if (why != self->last_error_)
            log::warn("redis_unreachable", {{"link", self->name_}, {"error", why}});
        self->last_error_ = why;
        redisAsyncFree(self->context_);
    };
    auto finish = [self, generation, failed] {
        if (generation != self->generation_ || !self->context_)
            return;
        if (self->subscriptions_.empty()) {
            self->send({"PING"}, [self, generation, failed](std::optional<redis_value> v) {
                if (!v || v->is_error())
                    return failed(v ? v->text : "no answer to PING");
                if (generation == self->generation_)
                    self->became_up();
            });
            return;
        }
        for (const auto& sub : self->subscriptions_) {
            const char* argv[] = {"SUBSCRIBE", sub->channel.c_str()};
            std::size_t lengths[] = {9, sub->channel.size()};
            if (redisAsyncCommandArgv(self->context_, on_message, sub.get(), 2, argv, lengths) !=
                REDIS_OK)
                return failed("SUBSCRIBE could not be sent");
        }
    };
    auto select = [self, finish, failed] {
        if (self->endpoint_.database == 0)
            return finish();
        self->send(
            {"SELECT", std::to_string(self->endpoint_.database)},
            [finish, failed](std::optional<redis_value> v) {
                if (!v || v->is_error())
                    return failed(v ? "SELECT: " + v->text : "no answer to SELECT");
                finish();
            }
        );
    };
    if (endpoint_.password.empty())
        return select();
    std::vector<std::string> auth{"AUTH"};
    if (!endpoint_.username.empty())
        auth.push_back(endpoint_.username);
    auth.push_back(endpoint_.password);
    send(std::move(auth), [select, failed](std::optional<redis_value> v) {
        // The reply never contains the password; Redis says WRONGPASS or NOAUTH.
        if (!v || v->is_error())
            return failed(v ? "AUTH: " + v->text : "no answer to AUTH");
        select();
    });
}

void redis_link::became_up() {
    if (up_)
        return;
    up_ = true;
    ++connections_;
    last_error_.clear();
    last_ping_ = clock::now();
    log::info("redis_up", {{"link", name_}});
    for (const auto& f : on_up_)
        asio::post(executor_, f);
}

void redis_link::lost() {
    bool was_up = up_;
    up_ = false;
    auto orphans = std::move(in_flight_);
    in_flight_.clear();
    for (auto& p : orphans)
        asio::post(executor_, [done = std::move(p->done)] { done(std::nullopt); });
    if (stopping_)
        return;
    if (was_up) {
        log::warn("redis_down", {{"link", name_}});
        for (const auto& f : on_down_)
            asio::post(executor_, f);
    }
    schedule_reconnect();
}

void redis_link::schedule_reconnect() {
    if (stopping_)
        return;
    reconnect_timer_.expires_after(reconnect_pause);
    reconnect_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec)
            self->connect();
    });
}

void redis_link::schedule_watch() {
    auto step = std::clamp<clock::duration>(
        endpoint_.timeout / 4, std::chrono::milliseconds(5), std::chrono::milliseconds(250)
    );
    watch_timer_.expires_after(step);
    watch_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec) {
            self->watch();
            self->schedule_watch();
        }
    });
}

void redis_link::watch() {
    auto now = clock::now();
    // Down when nothing has come back for the timeout while calls wait (a long reply that keeps
    // coming is not a hung Redis), or when the connection, AUTH, SELECT and SUBSCRIBE take longer.
    auto waited_since =
        in_flight_.empty() ? clock::time_point{} : std::max(in_flight_.front()->sent, last_reply_);
    bool hung = !in_flight_.empty() && now - waited_since > endpoint_.timeout;
    bool slow_start = !up_ && now - connect_started_ > endpoint_.timeout;
    if (context_ && (hung || slow_start)) {
        if (last_error_ != "timeout")
            log::warn(
                "redis_timeout", {{"link", name_},
                                  {"timeout_ms", endpoint_.timeout.count()},
                                  {"in_flight", in_flight_.size()}}
            );
        last_error_ = "timeout";
        redisAsyncFree(context_);
        return;
    }
    if (up_ && subscriptions_.empty() && now - last_ping_ >= ping_interval) {
        last_ping_ = now;
        send({"PING"}, [weak = weak_from_this(), now](std::optional<redis_value> v) {
            if (auto self = weak.lock(); self && v && !v->is_error())
                self->latency_ =
                    std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - now);
        });
    }
}

void redis_link::command(std::vector<std::string> args, reply_fn done) {
    if (!up_ || !subscriptions_.empty()) {
        asio::post(executor_, [done = std::move(done)] { done(std::nullopt); });
        return;
    }
    send(std::move(args), std::move(done));
}

asio::awaitable<std::optional<redis_value>> redis_link::call(std::vector<std::string> args) {
    co_return co_await asio::async_initiate<
        decltype(asio::use_awaitable), void(std::optional<redis_value>)>(
        [this, &args](auto handler) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            command(std::move(args), [shared](std::optional<redis_value> v) {
                (*shared)(std::move(v));
            });
        },
        asio::use_awaitable
    );
}

void redis_link::send(std::vector<std::string> args, reply_fn done) {
    if (!context_) {
        asio::post(executor_, [done = std::move(done)] { done(std::nullopt); });
        return;
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    auto p = std::make_shared<pending>(pending{std::move(done), clock::now()});
    in_flight_.push_back(p);
    if (redisAsyncCommandArgv(
            context_, on_reply, p.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()
        ) != REDIS_OK) {
        in_flight_.pop_back();
        asio::post(executor_, [done = std::move(p->done)] { done(std::nullopt); });
    }
}

void redis_link::on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
    auto* self = static_cast<redis_link*>(ac->data);
    auto it = std::find_if(self->in_flight_.begin(), self->in_flight_.end(), [&](const auto& p) {
        return p.get() == privdata;
    });
    if (it == self->in_flight_.end())
        return;
    auto done = std::move((*it)->done);
    self->in_flight_.erase(it);
    self->last_reply_ = clock::now();
    std::optional<redis_value> value;
    if (reply)
        value = copy_reply(*static_cast<redisReply*>(reply));
    // Never run the caller's code inside hiredis: it may send or free.
    asio::post(self->executor_, [done = std::move(done), value = std::move(value)]() mutable {
        done(std::move(value));
    });
}

void redis_link::on_message(redisAsyncContext* ac, void* reply, void* privdata) {
    auto* sub = static_cast<subscription*>(privdata);
    auto* self = static_cast<redis_link*>(ac->data);
    if (!reply)
        return;
    auto value = copy_reply(*static_cast<redisReply*>(reply));
    if (value.kind != redis_value::type::array || value.items.size() != 3)
        return;
    const auto& what = value.items[0].text;
    if (what == "subscribe") {
        asio::post(
            self->executor_,
            [weak = self->weak_from_this(), generation = self->generation_] {
                if (auto link = weak.lock(); link && link->generation_ == generation &&
                                             link->context_ &&
                                             ++link->confirmed_ == link->subscriptions_.size())
                    link->became_up();
            }
        );
    } else if (what == "message") {
        asio::post(self->executor_, [f = sub->on_message, payload = value.items[2].text] {
            f(payload);
        });
    }
}

void redis_link::on_connect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<redis_link*>(ac->data);
    if (status != REDIS_OK) {
        std::string why = ac->errstr;
        if (why != self->last_error_)
            log::warn("redis_unreachable", {{"link", self->name_}, {"error", why}});
        self->last_error_ = why;
    }
}

void redis_link::on_disconnect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<redis_link*>(ac->data);
    if (status == REDIS_OK || self->stopping_ || !ac->errstr)
        return;
    // Said once per kind of failure, so a reconnection every second does not flood the log.
    std::string why = ac->errstr;
    if (why != self->last_error_)
        log::warn("redis_disconnected", {{"link", self->name_}, {"error", why}});
    self->last_error_ = why;
}

void redis_link::arm_read() {
    if (read_armed_ || !socket_)
        return;
    read_armed_ = true;
    socket_->async_wait(
        asio::posix::stream_descriptor::wait_read,
        [self = shared_from_this(), generation = generation_,
         socket = socket_](boost::system::error_code ec) {
            if (generation != self->generation_)
                return;
            self->read_armed_ = false;
            if (ec || !self->context_)
                return;
            if (self->want_read_) {
                // Bytes arriving count as an answer: a long reply is not a hung Redis.
                self->last_reply_ = clock::now();
                redisAsyncHandleRead(self->context_);
            }
            if (generation == self->generation_ && self->context_ && self->want_read_)
                self->arm_read();
        }
    );
}

void redis_link::arm_write() {
    if (write_armed_ || !socket_)
        return;
    write_armed_ = true;
    socket_->async_wait(
        asio::posix::stream_descriptor::wait_write,
        [self = shared_from_this(), generation = generation_,
         socket = socket_](boost::system::error_code ec) {
            if (generation != self->generation_)
                return;
            self->write_armed_ = false;
            if (ec || !self->context_)
                return;
            if (self->want_write_)
                redisAsyncHandleWrite(self->context_);
            if (generation == self->generation_ && self->context_ && self->want_write_)
                self->arm_write();
        }
    );
}

void redis_link::ev_add_read(void* privdata) {
    auto* self = static_cast<redis_link*>(privdata);
    self->want_read_ = true;
    if (!self->stopping_)
        self->arm_read();
}

void redis_link::ev_del_read(void* privdata) {
    static_cast<redis_link*>(privdata)->want_read_ = false;
}

void redis_link::ev_add_write(void* privdata) {
    auto* self = static_cast<redis_link*>(privdata);
    self->want_write_ = true;
    if (!self->stopping_)
        self->arm_write();
}

void redis_link::ev_del_write(void* privdata) {
    static_cast<redis_link*>(privdata)->want_write_ = false;
}

// hiredis is freeing the context (after a loss, or because we asked): it closes the descriptor
// itself, so Asio must let go of it without closing.
void redis_link::ev_cleanup(void* privdata) {
    auto* self = static_cast<redis_link*>(privdata);
    if (self->socket_) {
        self->socket_->release();
        self->socket_.reset();
    }
    self->context_ = nullptr;
    ++self->generation_;
    self->lost();
}

}  // namespace outpost::cluster
