// What the two Asio translation units (relay/server.cpp, web/server.cpp)
// share: opening a listener, moving one to another address, and swapping a
// TLS certificate, on serve's SIGHUP, without dropping a connection.
// Header-only, so that it costs nothing to the TUs that do not use Asio:
// include it from those two files only.
#pragma once

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "core/crypto.hpp"
#include "core/error.hpp"

namespace pb::asio_listener {

using tcp = boost::asio::ip::tcp;
using Acceptor = std::shared_ptr<tcp::acceptor>;

// "ADDR:PORT" as serve prints it ("[::1]:8443" for IPv6).
inline std::string show(const tcp::endpoint& e) {
    const auto a = e.address();
    return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), e.port())
                     : fmt::format("{}:{}", a.to_string(), e.port());
}

// Opens, binds and listens on `at`; 602 naming `what` when it cannot.
inline Result<Acceptor> open(boost::asio::io_context& io, const tcp::endpoint& at,
                             std::string_view what) {
    auto a = std::make_shared<tcp::acceptor>(io);
    boost::system::error_code ec;
    if (a->open(at.protocol(), ec); !ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a->bind(at, ec);
    if (!ec) a->listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec)
        return fail(Errc::cannot_connect,
                    fmt::format("{}: cannot listen on {}: {}", what, show(at), ec.message()));
    return a;
}

// Takes the connections that wait in `listener`'s backlog (connected, not
// yet accepted), which closing it would reset, and gives each to `adopt`.
template <typename Adopt>
void take_backlog(tcp::acceptor& listener, Adopt& adopt) {
    boost::system::error_code ec;
    listener.non_blocking(true, ec);
    while (!ec) {
        tcp::socket socket(listener.get_executor());
        listener.accept(socket, ec);
        if (!ec) adopt(std::move(socket));
    }
}

// Moves `listener` to `next` (on the io thread): the new one is bound
// before the old one closes, so that no connection is refused in between,
// and the connections waiting in the old one's backlog go to `adopt`;
// when the new address needs the old one's port (0.0.0.0:25 to
// 192.0.2.1:25), the old one closes first and is opened again if the new
// one fails. On error `listener` is what still listens (the old one, or the
// old address opened again) and the error says why. The caller accepts on
// `listener` when it changed; connections already accepted are never
// touched. An empty `listener` is simply opened.
template <typename Adopt>
Result<void> move(boost::asio::io_context& io, Acceptor& listener, const tcp::endpoint& next,
                  std::string_view what, Adopt adopt) {
    boost::system::error_code ec;
    auto opened = open(io, next, what);
    if (opened || !listener || !listener->is_open()) {
        if (!opened) return std::move(opened).error();
        if (listener) {
            take_backlog(*listener, adopt);
            listener->close(ec);
        }
        listener = std::move(*opened);
        return {};
    }
    const auto was = listener->local_endpoint(ec);
    if (ec || was.port() != next.port()) return std::move(opened).error();
    take_backlog(*listener, adopt);
    listener->close(ec);
    if (auto again = open(io, next, what); again) {
        listener = std::move(*again);
        return {};
    } else if (auto back = open(io, was, what); back) {
        listener = std::move(*back);
        return fail(again.error().code,
                    fmt::format("{}; still listening on {}", again.error().detail, show(was)));
    } else {
        listener.reset();
        return fail(again.error().code,
                    fmt::format("{}; and {} could not be opened again: not listening",
                                again.error().detail, show(was)));
    }
}

// Reads a certificate chain and key again for the connections accepted from
// now on (those under way keep theirs: SSL_new copies them). The pair is
// checked first, so an unusable one leaves the one in use (651). Called from
// any thread but the io thread, while that thread runs: the swap happens
// there, between two accepts.
inline Result<void> swap_certificate(boost::asio::io_context& io, boost::asio::ssl::context& ssl,
                                     const std::filesystem::path& cert,
                                     const std::filesystem::path& key, std::string_view what) {
    if (auto r = check_certificate_pair(cert, key); !r)
        return fail(r.error().code,
                    fmt::format("{}: {}; the one in use stays", what, r.error().detail));
    std::promise<boost::system::error_code> done;
    auto result = done.get_future();
    boost::asio::post(io, [&ssl, &done, &cert, &key] {
        boost::system::error_code ec;
        ssl.use_certificate_chain_file(cert.string(), ec);
        if (!ec) ssl.use_private_key_file(key.string(), boost::asio::ssl::context::pem, ec);
        done.set_value(ec);
    });
    if (auto ec = result.get(); ec)
        return fail(Errc::spool_unwritable, fmt::format("{}: cannot use the certificate {}: {}",
                                                        what, cert.string(), ec.message()));
    return {};
}

}  // namespace pb::asio_listener
