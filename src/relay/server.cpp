#include "relay/server.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/asio_listener.hpp"
#include "core/crypto.hpp"
#include "core/text.hpp"
#include "relay/intake.hpp"
#include "relay/limits.hpp"
#include "relay/spill.hpp"

namespace pb::relay {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using asio_listener::Acceptor;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kHandshakeTimeout{30};
constexpr std::chrono::seconds kWriteTimeout{60};

// As Postfix writes it in Received: "TLSv1.3 with cipher
// TLS_AES_256_GCM_SHA384 (256/256 bits)".
std::string describe_tls(SSL* ssl) {
    int algorithm_bits = 0;
    const int bits = SSL_get_cipher_bits(ssl, &algorithm_bits);
    return fmt::format("{} with cipher {} ({}/{} bits)", SSL_get_version(ssl),
                       SSL_get_cipher_name(ssl), bits, algorithm_bits);
}

int tls_version(std::string_view v) {
    if (v == "1.0") return TLS1_VERSION;
    if (v == "1.1") return TLS1_1_VERSION;
    if (v == "1.3") return TLS1_3_VERSION;
    return TLS1_2_VERSION;
}

}  // namespace

struct Server::Impl {
    // First, so that it dies last: streams torn down with the io_context use it.
    asio::ssl::context ssl{asio::ssl::context::tls_server};
    ServerOptions options;
    Backend* backend = nullptr;
    bool tls_ready = false;
    // Before the io_context: connections still open at shutdown end when it
    // is destroyed, and each one's ending updates these counts.
    std::size_t connections = 0;  // io thread only
    std::map<std::string, std::size_t> per_client;
    std::size_t unauthenticated = 0;  // connections not logged in (io thread only)
    std::map<std::string, std::size_t> unauthenticated_per_client;
    struct Waiting;
    std::list<Waiting> waiting;  // connections not logged in, oldest first (below)
    struct Watch;
    std::list<std::shared_ptr<Watch>> live;  // every connection (io thread only)
    // Set by drain() (io thread only): no more connections are accepted, a
    // client between transactions is told 421 and closed, and `drained` is
    // fulfilled when the last connection has ended.
    bool draining = false;
    std::shared_ptr<std::promise<void>> drained;
    asio::io_context io{1};
    // The workers; joined in ~Server before the io_context goes.
    std::unique_ptr<asio::thread_pool> pool;
    std::unique_ptr<asio::thread_pool> login_pool;
    Acceptor plain;     // relay.listen; null when not set
    Acceptor implicit;  // relay.listen_tls
    std::thread thread;
    // The addresses bound, for address() from any thread.
    mutable std::mutex bound_mu;
    std::optional<std::string> bound_plain, bound_tls;

    // The current operation's deadline: when it passes, the watchdog
    // cancels the socket's operations and the pending read or write ends.
    struct Watch {
        asio::steady_timer timer;
        Clock::time_point session_end;
        bool fired = false;
        bool evicted = false;   // closed for a new connection: never re-armed
        bool stopping = false;  // closed by drain(): never re-armed
        bool idle = false;      // reading a command between transactions
        explicit Watch(asio::any_io_executor ex) : timer(std::move(ex)) {}
        void arm(Clock::duration d) {
            if (evicted || stopping) return;
            const auto at = std::min(Clock::now() + d, session_end);
            timer.expires_at(at);
        }
        void evict() {
            evicted = true;
            timer.expires_at(Clock::now());  // the watchdog cancels the socket
        }
        void stop() {
            stopping = true;
            timer.expires_at(Clock::now());
        }
    };

    // Connections not logged in yet, oldest first (io thread only). When
    // the cap on them is reached, a new one takes the slot of the oldest
    // from the address that holds the most: clients that never log in, from
    // however many addresses, cannot shut a device out, and a device needs
    // its slot for well under a second.
    struct Waiting {
        std::string client;
        std::shared_ptr<Watch> watch;
    };

    // The connection to close for a new one; nullptr when there is none.
    Waiting* eviction_victim() {
        std::map<std::string_view, std::size_t> held;
        for (const auto& w : waiting)
            if (!w.watch->evicted) ++held[w.client];
        if (held.empty()) return nullptr;
        const auto busiest =
            std::ranges::max_element(held, {}, [](const auto& kv) { return kv.second; })->first;
        for (auto& w : waiting)
            if (!w.watch->evicted && w.client == busiest) return &w;
        return nullptr;
    }

    awaitable<void> watchdog(std::shared_ptr<Watch> w, tcp::socket& socket) {
        for (;;) {
            auto [ec] = co_await w->timer.async_wait(use_tuple);
            if (w->timer.expiry() == Clock::time_point::max()) co_return;  // connection over
            if (w->timer.expiry() <= Clock::now()) {
                w->fired = true;
                boost::system::error_code ignored;
                socket.cancel(ignored);
                co_return;
            }
            (void)ec;  // re-armed: wait for the new expiry
        }
    }

    using Stream = asio::ssl::stream<tcp::socket>;

    awaitable<bool> write(Stream& s, bool tls, Watch& w, std::string& out) {
        if (out.empty()) co_return true;
        w.arm(kWriteTimeout);
        boost::system::error_code ec;
        if (tls) {
            auto [e, n] = co_await asio::async_write(s, asio::buffer(out), use_tuple);
            ec = e;
        } else {
            auto [e, n] = co_await asio::async_write(s.next_layer(), asio::buffer(out), use_tuple);
            ec = e;
        }
        out.clear();
        co_return !ec && !w.fired;
    }

    awaitable<std::size_t> read(Stream& s, bool tls, Watch& w, std::span<char> buf,
                                Clock::duration timeout) {
        w.arm(timeout);
        boost::system::error_code ec;
        std::size_t got = 0;
        if (tls) {
            auto [e, n] =
                co_await s.async_read_some(asio::buffer(buf.data(), buf.size()), use_tuple);
            ec = e;
            got = n;
        } else {
            auto [e, n] = co_await s.next_layer().async_read_some(
                asio::buffer(buf.data(), buf.size()), use_tuple);
            ec = e;
            got = n;
        }
        co_return ec ? 0 : got;
    }

    awaitable<bool> handshake(Stream& s, Watch& w) {
        w.arm(kHandshakeTimeout);
        auto [ec] = co_await s.async_handshake(asio::ssl::stream_base::server, use_tuple);
        co_return !ec && !w.fired;
    }

    // nullopt when the check itself failed (the store is busy).
    awaitable<std::optional<LoginVerdict>> check_login(const std::string& client,
                                                       const std::string& user,
                                                       const Secret& password) {
        co_return co_await asio::co_spawn(
            *login_pool,
            [this, &client, &user, &password]() -> awaitable<std::optional<LoginVerdict>> {
                auto r = backend->check_login(client, user, password);
                if (!r) {
                    options.log(fmt::format("relay: cannot check the login of '{}': {}",
                                            escaped(user), r.error().describe()));
                    co_return std::nullopt;
                }
                co_return *r;
            },
            asio::use_awaitable);
    }

    awaitable<std::string> submit(const Envelope& env, const Arrival& arrival, const Spill& spill) {
        co_return co_await asio::co_spawn(
            *pool,
            [this, &env, &arrival, &spill]() -> awaitable<std::string> {
                auto source = spill.source();
                co_return backend->submit(env, arrival, *source);
            },
            asio::use_awaitable);
    }

    awaitable<void> connection(tcp::socket socket, bool implicit_tls) {
        boost::system::error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        const std::string client = ec ? std::string("unknown") : peer.address().to_string();
        const bool allowed = options.allowed.contains(client);
        ++connections;
        const std::size_t mine = ++per_client[client];
        // A client in relay.allowed_networks needs no login: it counts as
        // logged in from the start.
        struct Count {
            Impl& s;
            std::string client;
            bool unauthenticated;
            std::optional<std::list<Waiting>::iterator> listed = std::nullopt;
            std::optional<std::list<std::shared_ptr<Watch>>::iterator> alive = std::nullopt;
            void logged_in() {
                if (listed) s.waiting.erase(*std::exchange(listed, std::nullopt));
                if (!unauthenticated) return;
                unauthenticated = false;
                --s.unauthenticated;
                if (--s.unauthenticated_per_client[client] == 0)
                    s.unauthenticated_per_client.erase(client);
            }
            ~Count() {
                logged_in();
                if (alive) s.live.erase(*alive);
                --s.connections;
                if (--s.per_client[client] == 0) s.per_client.erase(client);
                if (s.connections == 0 && s.drained) std::exchange(s.drained, nullptr)->set_value();
            }
        } count{*this, client, !allowed};
        // Told once the connection is over, however it ends.
        struct Told {
            Backend& b;
            const std::string& client;
            std::string user;
            std::vector<std::string> replies;
            ~Told() { b.connection_closed(client, user, replies); }
        } told{*backend, client, {}, {}};
        backend->connection_opened(client);
        std::size_t mine_unauthenticated = 0;
        if (!allowed) {
            ++unauthenticated;
            mine_unauthenticated = ++unauthenticated_per_client[client];
        }
        const std::size_t max_unauthenticated =
            options.max_unauthenticated ? options.max_unauthenticated
                                        : std::max<std::size_t>(1, options.max_connections / 2);
        // Checked before any TLS handshake: a handshake costs the server
        // more than the client, and a slot taken by one counts like any other.
        bool full = draining || connections > options.max_connections ||
                    mine > options.max_connections_per_client ||
                    (!allowed && mine_unauthenticated > options.max_unauthenticated_per_client);

        auto watch = std::make_shared<Watch>(socket.get_executor());
        if (!full && !allowed && unauthenticated > max_unauthenticated) {
            if (Waiting* victim = eviction_victim()) {
                victim->watch->evict();
                options.log(fmt::format(
                    "relay: closed a connection from {} that had not logged in, for a new one",
                    victim->client));
            } else {
                full = true;
            }
        }
        if (!full && !allowed) count.listed = waiting.insert(waiting.end(), {client, watch});
        count.alive = live.insert(live.end(), watch);
        const auto start = Clock::now();
        watch->session_end = start + options.session_limit;
        watch->timer.expires_at(Clock::now() + kHandshakeTimeout);
        Stream stream(std::move(socket), ssl);
        asio::co_spawn(io, watchdog(watch, stream.next_layer()), asio::detached);
        struct Stop {
            Watch& w;
            ~Stop() { w.timer.expires_at(Clock::time_point::max()); }
        } stop{*watch};

        std::string out;
        bool tls = false;
        if (full) {
            // On the implicit-TLS port a plain-text 421 would be noise to
            // the client: close without the handshake.
            if (!implicit_tls) {
                out = Session::busy_reply(options.session.hostname);
                co_await write(stream, tls, *watch, out);
            }
            options.log(
                fmt::format("relay: refused a connection from {}: too many connections", client));
            co_return;
        }
        Arrival arrival{client, std::nullopt, options.session.hostname};
        if (implicit_tls) {
            if (!co_await handshake(stream, *watch)) co_return;
            tls = true;
            arrival.tls = describe_tls(stream.native_handle());
        }

        SessionConfig cfg = options.session;
        cfg.client_allowed = allowed;
        cfg.implicit_tls = implicit_tls;
        cfg.tls_available = tls_ready;
        Session session(std::move(cfg));
        Spill spill(options.spill_dir);
        std::optional<Error> spill_failed;  // why the message could not be held
        out = session.greeting();
        std::array<char, 16 * 1024> buf{};
        bool open = true;
        bool in_data = false;
        Clock::time_point data_start{};
        std::uint64_t data_bytes = 0;
        while (open) {
            if (session.authenticated()) count.logged_in();
            Action a = session.next();
            switch (a.kind) {
                case Action::send:
                    out += a.text;
                    break;
                case Action::data:
                    if (!spill_failed) {
                        if (auto r = spill.append(a.text); !r) {
                            options.log(r.error().describe());
                            spill_failed = r.error();
                        }
                    }
                    break;
                case Action::discard:
                    spill.clear();
                    spill_failed.reset();
                    break;
                case Action::need_input: {
                    if (!co_await write(stream, tls, *watch, out)) {
                        open = false;
                        break;
                    }
                    if (draining && !session.in_transaction()) {
                        out = Session::shutdown_reply(options.session.hostname);
                        co_await write(stream, tls, *watch, out);
                        open = false;
                        break;
                    }
                    const auto now = Clock::now();
                    if (session.in_data() && !in_data) {
                        data_start = now;
                        data_bytes = 0;
                    }
                    in_data = session.in_data();
                    const ReadWait wait{session.authenticated(), in_data, options.command_timeout,
                                        options.data_timeout};
                    const auto timeout = read_timeout(wait, now, start, data_start, data_bytes);
                    if (timeout <= Clock::duration::zero()) {
                        // Too slow already: say so, as a timeout would.
                        out = Session::timeout_reply(options.session.hostname);
                        co_await write(stream, tls, *watch, out);
                        refused_slow(client, in_data);
                        open = false;
                        break;
                    }
                    watch->idle = !session.in_transaction();
                    const std::size_t n = co_await read(stream, tls, *watch, buf, timeout);
                    watch->idle = false;
                    if (in_data) data_bytes += n;
                    if (n == 0) {
                        if (watch->fired && !tls) {
                            // A plain socket survives the cancel: say why we close.
                            watch->fired = false;
                            const auto& host = options.session.hostname;
                            out = watch->evicted    ? Session::busy_reply(host)
                                  : watch->stopping ? Session::shutdown_reply(host)
                                                    : Session::timeout_reply(host);
                            co_await write(stream, tls, *watch, out);
                        }
                        open = false;
                        break;
                    }
                    session.feed(std::string_view(buf.data(), n));
                    break;
                }
                case Action::verify_login: {
                    if (!co_await write(stream, tls, *watch, out)) {
                        open = false;
                        break;
                    }
                    const auto v = co_await check_login(client, a.user, a.password);
                    if (!v) {
                        session.login_unavailable();
                        break;
                    }
                    switch (v->kind) {
                        case LoginVerdict::ok:
                            session.login_result(true);
                            break;
                        case LoginVerdict::bad:
                            if (v->delay > Duration{0}) {
                                asio::steady_timer later(io, v->delay);
                                co_await later.async_wait(use_tuple);
                            }
                            session.login_result(false);
                            break;
                        case LoginVerdict::locked:
                            session.login_locked();
                            break;
                        case LoginVerdict::busy:
                            session.login_unavailable();
                            break;
                    }
                    break;
                }
                case Action::message: {
                    std::string reply;
                    if (spill_failed) {
                        reply = reply_for(*spill_failed);
                    } else {
                        reply = co_await submit(session.envelope(), arrival, spill);
                    }
                    spill.clear();
                    spill_failed.reset();
                    told.user = session.envelope().user.value_or("");
                    told.replies.push_back(reply);
                    session.message_result(std::move(reply));
                    break;
                }
                case Action::start_tls: {
                    // No co_await inside || or ?: (g++ 12 miscompiles some).
                    const bool sent = co_await write(stream, tls, *watch, out);
                    bool shaken = false;
                    if (sent) shaken = co_await handshake(stream, *watch);
                    if (!shaken) {
                        open = false;
                        break;
                    }
                    tls = true;
                    arrival.tls = describe_tls(stream.native_handle());
                    session.tls_started();
                    break;
                }
                case Action::close:
                    co_await write(stream, tls, *watch, out);
                    open = false;
                    break;
            }
        }
        if (session.refused())
            options.log(fmt::format("relay: session from {} refused; transcript:\n{}", client,
                                    session.transcript()));
        if (tls && !watch->fired) {
            watch->arm(std::chrono::seconds{5});
            co_await stream.async_shutdown(use_tuple);  // close_notify, asynchronously
        }
        stream.next_layer().shutdown(tcp::socket::shutdown_both, ec);
    }

    void refused_slow(const std::string& client, bool in_data) {
        options.log(fmt::format("relay: closed the connection from {}: {}", client,
                                in_data ? "message data slower than the minimum rate"
                                        : "no login within the time allowed"));
    }

    // Until `acceptor` closes (stop, drain, or moved to another address).
    awaitable<void> accept(Acceptor acceptor, bool implicit_tls) {
        for (;;) {
            auto [ec, socket] = co_await acceptor->async_accept(use_tuple);
            if (ec == asio::error::operation_aborted) co_return;
            if (ec) continue;  // EMFILE and friends: the next accept may work
            asio::co_spawn(io, connection(std::move(socket), implicit_tls), asio::detached);
        }
    }

    // Points `listener` at `where` (ADDR:PORT; empty: not listening) and
    // accepts on it when it changed. On the io thread once it runs.
    Result<void> listen(Acceptor& listener, const std::string& where, std::string_view key,
                        bool implicit_tls) {
        const Acceptor before = listener;
        Result<void> moved;
        if (where.empty()) {
            boost::system::error_code ignored;
            if (listener) listener->close(ignored);
            listener.reset();
        } else {
            auto hp = split_host_port(where, key);
            if (!hp) return std::move(hp).error();
            boost::system::error_code ec;
            const auto address = asio::ip::make_address(hp->first, ec);
            if (ec)
                return fail(Errc::invalid_input,
                            fmt::format("{}: '{}' is not an IP address (use e.g. 0.0.0.0:2525)",
                                        key, hp->first));
            moved = asio_listener::move(
                io, listener, tcp::endpoint(address, hp->second), key,
                [this, implicit_tls](tcp::socket socket) {
                    asio::co_spawn(io, connection(std::move(socket), implicit_tls), asio::detached);
                });
        }
        if (listener != before) {
            if (listener) asio::co_spawn(io, accept(listener, implicit_tls), asio::detached);
            std::lock_guard lock(bound_mu);
            auto& bound = implicit_tls ? bound_tls : bound_plain;
            bound.reset();
            if (listener) bound = asio_listener::show(listener->local_endpoint());
        }
        return moved;
    }

    // What reconfigure() may change while connections run; on the io thread,
    // the only one that reads these (the workers read only options.log).
    void take_limits(const ServerOptions& next) {
        options.allowed = next.allowed;
        options.max_connections = next.max_connections;
        options.max_connections_per_client = next.max_connections_per_client;
        options.max_unauthenticated = next.max_unauthenticated;
        options.max_unauthenticated_per_client = next.max_unauthenticated_per_client;
        options.command_timeout = next.command_timeout;
        options.data_timeout = next.data_timeout;
        options.session_limit = next.session_limit;
        options.session = next.session;
        if (tls_ready && next.tls_min_version != options.tls_min_version) {
            set_min_tls_version(next.tls_min_version);
            options.tls_min_version = next.tls_min_version;
        }
    }

    void set_min_tls_version(const std::string& version) {
        auto* ctx = ssl.native_handle();
        const int min = tls_version(version);
        SSL_CTX_set_min_proto_version(ctx, min);
        if (min < TLS1_2_VERSION) {
            // OpenSSL 3 refuses TLS 1.0/1.1 at its default security level;
            // relay.tls_min_version says the administrator wants them.
            SSL_CTX_set_security_level(ctx, 0);
            SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
        } else {
            SSL_CTX_set_security_level(ctx, 1);
            SSL_CTX_set_cipher_list(ctx, "DEFAULT");
        }
    }

    // Runs `f` on the io thread and waits for its result.
    template <typename F>
    auto on_io_thread(F f) -> decltype(f()) {
        std::promise<decltype(f())> done;
        auto result = done.get_future();
        asio::post(io, [&] { done.set_value(f()); });
        return result.get();
    }
};

void Server::drain(std::chrono::steady_clock::time_point deadline) {
    auto& s = *impl_;
    auto drained = std::make_shared<std::promise<void>>();
    auto done = drained->get_future();
    asio::post(s.io, [&s, drained] {
        boost::system::error_code ignored;
        for (const auto& a : {s.plain, s.implicit})
            if (a) a->close(ignored);
        s.draining = true;
        for (const auto& w : s.live)
            if (w->idle) w->stop();
        if (s.connections == 0)
            drained->set_value();
        else
            s.drained = drained;
    });
    if (done.wait_until(deadline) == std::future_status::ready) return;
    s.options.log("relay: transactions still under way when the drain time ran out: closed");
}

Result<void> Server::reload_certificate(const std::filesystem::path& cert,
                                        const std::filesystem::path& key) {
    auto& s = *impl_;
    if (!s.tls_ready) return {};
    return asio_listener::swap_certificate(s.io, s.ssl, cert, key, "relay");
}

Result<void> Server::reconfigure(const ServerOptions& next) {
    auto& s = *impl_;
    if (!next.listen_tls.empty() && !s.tls_ready)
        return fail(Errc::invalid_input,
                    "relay.listen_tls needs a certificate (web.cert and web.key)");
    if (next.listen.empty() && next.listen_tls.empty())
        return fail(Errc::invalid_input, "relay: neither relay.listen nor relay.listen_tls is set");
    return s.on_io_thread([&s, &next]() -> Result<void> {
        if (s.draining) return {};
        s.take_limits(next);
        Result<void> plain, implicit;
        if (next.listen != s.options.listen) {
            plain = s.listen(s.plain, next.listen, "relay.listen", false);
            if (plain) s.options.listen = next.listen;
        }
        if (next.listen_tls != s.options.listen_tls) {
            implicit = s.listen(s.implicit, next.listen_tls, "relay.listen_tls", true);
            if (implicit) s.options.listen_tls = next.listen_tls;
        }
        if (!plain) return plain;
        return implicit;
    });
}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Backend& backend) {
    auto impl = std::make_unique<Impl>();
    impl->options = std::move(options);
    impl->backend = &backend;
    const auto& o = impl->options;
    if (o.listen.empty() && o.listen_tls.empty())
        return fail(Errc::invalid_input, "relay: neither relay.listen nor relay.listen_tls is set");

    if (!o.cert.empty()) {
        impl->set_min_tls_version(o.tls_min_version);
        impl->ssl.set_options(asio::ssl::context::default_workarounds |
                              asio::ssl::context::no_compression |
                              asio::ssl::context::single_dh_use);
        boost::system::error_code ec;
        impl->ssl.use_certificate_chain_file(o.cert.string(), ec);
        if (ec)
            return fail(Errc::spool_unwritable,
                        fmt::format("relay: cannot use the certificate {}: {}", o.cert.string(),
                                    ec.message()));
        impl->ssl.use_private_key_file(o.key.string(), asio::ssl::context::pem, ec);
        if (ec)
            return fail(Errc::spool_unwritable, fmt::format("relay: cannot use the key {}: {}",
                                                            o.key.string(), ec.message()));
        impl->tls_ready = true;
    } else if (!o.listen_tls.empty()) {
        return fail(Errc::invalid_input,
                    "relay.listen_tls needs a certificate (web.cert and web.key)");
    }
    // Before the io thread runs: the accepts start with it.
    if (auto r = impl->listen(impl->plain, o.listen, "relay.listen", false); !r)
        return std::move(r).error();
    if (auto r = impl->listen(impl->implicit, o.listen_tls, "relay.listen_tls", true); !r)
        return std::move(r).error();

    impl->pool = std::make_unique<asio::thread_pool>(std::max(1u, o.workers));
    impl->login_pool = std::make_unique<asio::thread_pool>(std::max(1u, o.login_workers));
    auto& s = *impl;
    s.thread = std::thread([&s] { s.io.run(); });
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
    auto& s = *impl_;
    asio::post(s.io, [&s] {
        boost::system::error_code ignored;
        for (const auto& a : {s.plain, s.implicit})
            if (a) a->close(ignored);
        s.io.stop();
    });
    if (s.thread.joinable()) s.thread.join();
    s.pool->join();
    s.login_pool->join();
}

std::optional<std::string> Server::address() const {
    std::lock_guard lock(impl_->bound_mu);
    return impl_->bound_plain;
}

std::optional<std::string> Server::address_tls() const {
    std::lock_guard lock(impl_->bound_mu);
    return impl_->bound_tls;
}

}  // namespace pb::relay
