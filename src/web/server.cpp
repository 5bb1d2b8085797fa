// The one translation unit of src/web with Beast and Asio (see server.hpp).
//
// Each connection is a coroutine. Every read, write, handshake and shutdown
// has a deadline (beast::tcp_stream's expiry covers the whole operation, so
// a client trickling bytes cannot stretch it); requests have a header and a
// body limit. Connections are capped in all and per client address, and a
// connection that has not started a request (idle keep-alive, or not a
// byte sent yet) holds its slot only loosely: it is the first to be closed
// when a new connection needs the room, so idle sockets starve nobody.
#include "web/server.hpp"

#include <openssl/ssl.h>

#include <atomic>
#include <csignal>
#include <exception>
#include <future>
#include <list>
#include <map>

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/asio_listener.hpp"
#include "core/text.hpp"

namespace pb::web {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr auto kHandshakeTimeout = std::chrono::seconds{5};
// A browser sends its request at once; a socket that stays silent is not one.
constexpr auto kFirstByteTimeout = std::chrono::seconds{5};
// Between requests on a kept-alive connection.
constexpr auto kKeepAliveTimeout = std::chrono::seconds{15};
// From a request's first byte to its last: the largest form is a few kilobytes.
constexpr auto kRequestTimeout = std::chrono::seconds{10};
constexpr auto kWriteTimeout = std::chrono::seconds{30};
constexpr auto kShutdownTimeout = std::chrono::seconds{3};
constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::uint64_t kBodyLimit = 64 * 1024;  // the largest form is a few kilobytes
constexpr std::size_t kMaxConnections = 64;
// A browser opens six at most to one site.
constexpr std::size_t kMaxConnectionsPerClient = 8;

Request to_request(const http::request<http::string_body>& in, const std::string& client,
                   bool secure) {
    Request r;
    r.method = std::string(in.method_string());
    const std::string_view target = in.target();
    const auto q = target.find('?');
    r.path = decode_path(target.substr(0, q)).value_or(std::string());
    if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
    r.content_type = std::string(in[http::field::content_type]);
    r.host = std::string(in[http::field::host]);
    r.cookie = std::string(in[http::field::cookie]);
    r.authorization = std::string(in[http::field::authorization]);
    r.body = in.body();
    r.client = client;
    r.secure = secure;
    return r;
}

http::response<http::string_body> to_beast(Response&& in, unsigned version, bool keep_alive) {
    http::response<http::string_body> out{static_cast<http::status>(in.status), version};
    for (auto& [name, value] : in.headers) out.insert(name, value);
    out.body() = std::move(in.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    return out;
}

}  // namespace

struct Server::Impl {
    // Declared first so that it dies last: TLS streams being torn down in
    // the io_context's destructor still use it.
    asio::ssl::context ssl{asio::ssl::context::tls_server};
    ServerOptions options;
    Handler handler;
    // A connection's place, from its accept to its end; touched on the io
    // thread only. Before io, so that the coroutines the io_context destroys
    // can still give their slots back.
    struct Slot {
        std::string client;
        bool idle = true;      // no request under way: may be closed for room
        bool closing = false;  // closed for room; gone once its coroutine sees it
        std::chrono::steady_clock::time_point idle_since = std::chrono::steady_clock::now();
        beast::tcp_stream* stream = nullptr;  // set once the connection runs
    };
    std::list<Slot> slots;
    asio::io_context io{1};
    // The pages' thread; destroyed (joined) before io_context.
    asio::thread_pool pages{1};
    asio_listener::Acceptor acceptor;  // moved by listen_on(); set by create()
    std::atomic<std::uint16_t> bound_port{0};
    asio::signal_set signals{io, SIGINT, SIGTERM};

    void set_idle(Slot& slot, bool idle) {
        slot.idle = idle;
        if (idle) slot.idle_since = std::chrono::steady_clock::now();
    }

    // Room for one more connection from `client`: when its address is full,
    // its longest idle connection is closed; when the server is full, the
    // longest idle one of the address that holds the most. An address that
    // floods the server (or reconnects as fast as it is closed) so gives way
    // before a client with one connection, however young the flood's
    // connections are. False when every one is busy.
    bool make_room(const std::string& client) {
        std::size_t total = 0, own = 0;
        for (const auto& s : slots) {
            if (s.closing) continue;
            ++total;
            if (s.client == client) ++own;
        }
        if (own >= kMaxConnectionsPerClient) return close_idle(&client);
        if (total >= kMaxConnections) return close_idle(nullptr);
        return true;
    }

    bool close_idle(const std::string* client) {
        std::map<std::string_view, std::size_t> held;  // connections per address
        for (const auto& s : slots)
            if (!s.closing) ++held[s.client];
        const auto before = [&](const Slot& a, const Slot& b) {
            const std::size_t ha = held[a.client], hb = held[b.client];
            return ha != hb ? ha > hb : a.idle_since < b.idle_since;
        };
        Slot* victim = nullptr;
        for (auto& s : slots) {
            if (s.closing || !s.idle || (client != nullptr && s.client != *client)) continue;
            if (victim == nullptr || before(s, *victim)) victim = &s;
        }
        if (victim == nullptr) return false;
        victim->closing = true;
        if (victim->stream != nullptr) victim->stream->close();
        return true;
    }

    awaitable<Response> call_handler(Request request) {
        try {
            co_return handler(request);
        } catch (const std::exception& e) {
            // The exception's text may quote the request.
            options.log(fmt::format("web: a page failed: {}", escaped(e.what())));
            co_return Response::text(500, "Internal error. See the log.\n");
        }
    }

    template <class Stream>
    awaitable<void> serve_requests(Stream& stream, Slot& slot, bool secure) {
        beast::flat_buffer buffer;
        for (bool first = true;; first = false) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(kHeaderLimit);
            parser.body_limit(kBodyLimit);
            // Idle until a byte of the next request is here (it may be
            // already, pipelined), then the whole request on its own clock.
            set_idle(slot, true);
            auto& lowest = beast::get_lowest_layer(stream);
            lowest.expires_after(first ? kFirstByteTimeout : kKeepAliveTimeout);
            boost::system::error_code ec;
            if (buffer.size() == 0) {
                auto [rec, rn] = co_await http::async_read_some(stream, buffer, parser, use_tuple);
                ec = rec;
            }
            if (slot.closing) co_return;
            set_idle(slot, false);
            if (!ec && !parser.is_done()) {
                lowest.expires_after(kRequestTimeout);
                auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
                ec = rec;
            }
            if (ec) {
                if (ec == http::error::body_limit || ec == http::error::header_limit) {
                    auto res = to_beast(Response::text(413, "Request too large.\n"), 11, false);
                    beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
                    co_await http::async_write(stream, res, use_tuple);
                }
                co_return;  // end of stream, timeout, garbage: just close
            }
            auto& req = parser.get();
            const bool keep_alive = req.keep_alive();
            Response answer = co_await asio::co_spawn(
                pages, call_handler(to_request(req, slot.client, secure)), asio::use_awaitable);
            if (req.method() == http::verb::head) answer.body.clear();
            auto res = to_beast(std::move(answer), req.version(), keep_alive);
            beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
            auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
            if (wec || !keep_alive) co_return;
        }
    }

    awaitable<void> connection(tcp::socket socket, std::list<Slot>::iterator it) {
        struct Release {
            std::list<Slot>& slots;
            std::list<Slot>::iterator it;
            ~Release() { slots.erase(it); }
        } release{slots, it};
        Slot& slot = *it;
        if (slot.closing) co_return;  // closed for room before it ran
        boost::system::error_code ec;

        if (!options.tls) {
            beast::tcp_stream stream(std::move(socket));
            slot.stream = &stream;
            co_await serve_requests(stream, slot, false);
            slot.stream = nullptr;
            stream.socket().shutdown(tcp::socket::shutdown_send, ec);
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), ssl);
        // Idle during the handshake too: no request has started.
        slot.stream = &beast::get_lowest_layer(stream);
        beast::get_lowest_layer(stream).expires_after(kHandshakeTimeout);
        auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
        if (hec || slot.closing) {
            slot.stream = nullptr;
            co_return;  // a browser refusing the self-signed certificate lands here
        }
        co_await serve_requests(stream, slot, true);
        slot.stream = nullptr;
        // close_notify; asynchronous because a synchronous shutdown deadlocks
        // on a single-threaded io_context.
        beast::get_lowest_layer(stream).expires_after(kShutdownTimeout);
        co_await stream.async_shutdown(use_tuple);
    }

    // Until `listener` closes (stop, or moved to another address).
    awaitable<void> accept(asio_listener::Acceptor listener) {
        for (;;) {
            auto [ec, socket] = co_await listener->async_accept(use_tuple);
            if (ec == asio::error::operation_aborted) co_return;
            if (ec) continue;  // EMFILE and friends: the next accept may work
            admit(std::move(socket));
        }
    }

    // A new connection: served when there is room (make_room), else closed.
    void admit(tcp::socket socket) {
        boost::system::error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        std::string client = ec ? std::string("unknown") : peer.address().to_string();
        if (!make_room(client)) return;  // closed by the socket's destructor
        auto it = slots.insert(slots.end(), Slot{std::move(client)});
        asio::co_spawn(io, connection(std::move(socket), it), asio::detached);
    }
};

namespace {

// web.listen's host, "127.0.0.1" or "[::1]", as an address to bind.
Result<asio::ip::address> listen_address(const std::string& host) {
    const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
    boost::system::error_code ec;
    auto address = asio::ip::make_address(bracketed ? host.substr(1, host.size() - 2) : host, ec);
    if (ec)
        return fail(
            Errc::invalid_input,
            fmt::format("web.listen: '{}' is not an IP address (use e.g. 127.0.0.1:8443)", host));
    return address;
}

}  // namespace

Result<std::unique_ptr<Server>> Server::create(ServerOptions options, Handler handler) {
    auto impl = std::make_unique<Impl>();
    impl->options = std::move(options);
    impl->handler = std::move(handler);
    const auto& o = impl->options;

    const auto address = listen_address(o.host);
    if (!address) return address.error();

    if (o.tls) {
        boost::system::error_code ec;
        SSL_CTX_set_min_proto_version(impl->ssl.native_handle(), TLS1_2_VERSION);
        impl->ssl.set_options(asio::ssl::context::default_workarounds |
                              asio::ssl::context::no_compression |
                              asio::ssl::context::single_dh_use);
        impl->ssl.use_certificate_chain_file(o.cert.string(), ec);
        if (ec)
            return fail(Errc::spool_unwritable,
                        fmt::format("web.cert: cannot use {}: {}", o.cert.string(), ec.message()));
        impl->ssl.use_private_key_file(o.key.string(), asio::ssl::context::pem, ec);
        if (ec)
            return fail(Errc::spool_unwritable,
                        fmt::format("web.key: cannot use {}: {}", o.key.string(), ec.message()));
    }

    auto listener = asio_listener::open(impl->io, tcp::endpoint(*address, o.port), "web.listen");
    if (!listener) return std::move(listener).error();
    impl->acceptor = std::move(*listener);
    impl->bound_port = impl->acceptor->local_endpoint().port();
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
    // Stop the pages' thread before the io_context it posts back to.
    impl_->pages.join();
}

std::uint16_t Server::port() const noexcept {
    return impl_->bound_port;
}

void Server::run() {
    auto& s = *impl_;
    s.signals.async_wait([&s](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        s.options.log(fmt::format("web: signal {} received, stopping", signal));
        boost::system::error_code ignored;
        if (s.acceptor) s.acceptor->close(ignored);
        s.io.stop();
    });
    asio::co_spawn(s.io, s.accept(s.acceptor), asio::detached);
    s.io.run();
}

Result<void> Server::reload_certificate(const std::filesystem::path& cert,
                                        const std::filesystem::path& key) {
    auto& s = *impl_;
    if (!s.options.tls) return {};
    return asio_listener::swap_certificate(s.io, s.ssl, cert, key, "web");
}

Result<void> Server::listen_on(const std::string& host, std::uint16_t port) {
    auto& s = *impl_;
    const auto address = listen_address(host);
    if (!address) return address.error();
    std::promise<Result<void>> done;
    auto result = done.get_future();
    asio::post(s.io, [&s, &done, at = tcp::endpoint(*address, port)] {
        const auto before = s.acceptor;
        auto moved = asio_listener::move(s.io, s.acceptor, at, "web.listen",
                                         [&s](tcp::socket socket) { s.admit(std::move(socket)); });
        if (s.acceptor != before && s.acceptor) {
            s.bound_port = s.acceptor->local_endpoint().port();
            asio::co_spawn(s.io, s.accept(s.acceptor), asio::detached);
        }
        done.set_value(std::move(moved));
    });
    return result.get();
}

void Server::stop() {
    asio::post(impl_->io, [&s = *impl_] {
        boost::system::error_code ignored;
        if (s.acceptor) s.acceptor->close(ignored);
        s.io.stop();
    });
}

}  // namespace pb::web
