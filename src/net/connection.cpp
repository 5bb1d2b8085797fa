// Asio coroutines + OpenSSL behind net/connection.hpp. Every operation
// races a steady_timer with `||` (Boost 1.81 awaitable operators); the loser
// is cancelled, so no wait is ever unbounded.
#include "net/connection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <poll.h>
#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>

namespace pb::net {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string seconds_text(Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

Error timed_out(std::string_view what, Duration d) {
    return fail(Errc::timed_out, std::string(what) + ": no progress within " + seconds_text(d));
}

std::string x509_name(const X509_NAME* name) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (!bio) return {};
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n > 0 ? n : 0));
    BIO_free(bio);
    return out;
}

TimePoint asn1_time(const ASN1_TIME* t) {
    std::tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return TimePoint{};
    return std::chrono::time_point_cast<Duration>(
        std::chrono::system_clock::from_time_t(timegm(&tm)));
}

bool is_numeric_host(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// "size mtime" of a file or folder, so that a key made of it changes when
// the file does; empty when it is missing.
std::string file_version(const char* path) {
    struct stat st {};
    if (!path || ::stat(path, &st) != 0) return {};
    return std::to_string(st.st_size) + ' ' + std::to_string(st.st_mtim.tv_sec) + '.' +
           std::to_string(st.st_mtim.tv_nsec);
}

// Where the system's trusted certificates are, as OpenSSL's defaults say
// (SSL_CERT_FILE and SSL_CERT_DIR override them).
struct SystemStore {
    std::string file, dir;
    static SystemStore find() {
        const char* file = std::getenv(X509_get_default_cert_file_env());
        const char* dir = std::getenv(X509_get_default_cert_dir_env());
        return {file ? file : X509_get_default_cert_file(),
                dir ? dir : X509_get_default_cert_dir()};
    }
    // The folder is used when it has hashed names (HASH.0, as
    // update-ca-certificates makes them) and SSL_CERT_FILE names no other
    // bundle than the system's: a certificate there is read only when a
    // chain needs it, where the bundle is parsed whole (about 140
    // certificates) by every process that connects.
    bool lazy() const {
        std::error_code ec;
        if (std::getenv(X509_get_default_cert_file_env()) &&
            fs::weakly_canonical(file, ec) !=
                fs::weakly_canonical(X509_get_default_cert_file(), ec))
            return false;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            const std::string name = e.path().filename().string();
            if (name.size() == 10 && name.ends_with(".0")) return true;
        }
        return false;
    }
    std::string version() const {
        return file_version(file.c_str()) + '\n' + file_version(dir.c_str());
    }
};

// TLS client contexts, shared by the connections that trust the same
// certificates, so that each file is read once per process. The key holds
// the size and time of every file read, so an imported CA, or an updated
// system store, reaches the next connection. A context is not changed once
// made, so connections on any thread share it.
Result<std::shared_ptr<asio::ssl::context>> client_context(const TlsOptions& options) {
    std::string key = options.verify ? "verify\n" : "none\n";
    const SystemStore system = SystemStore::find();
    if (options.verify) {
        if (options.system_store) key += system.version() + '\n';
        for (const auto& f : options.ca_files) key += f + '\n' + file_version(f.c_str()) + '\n';
    }
    // Never destroyed: at exit OpenSSL may already be cleaned up.
    static std::mutex& mu = *new std::mutex;
    static auto& made = *new std::map<std::string, std::shared_ptr<asio::ssl::context>>;
    {
        std::lock_guard lock(mu);
        if (auto it = made.find(key); it != made.end()) return it->second;
    }
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    // RFC 8314; Exchange Online requires it.
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    error_code ec;
    if (options.verify) {
        ctx->set_verify_mode(asio::ssl::verify_peer);
        if (options.system_store) {
            if (system.lazy())
                ctx->add_verify_path(system.dir, ec);
            else
                ctx->set_default_verify_paths(ec);
        }
        for (const auto& file : options.ca_files) {
            ctx->load_verify_file(file, ec);
            if (ec)
                return fail(Errc::tls_handshake,
                            "cannot load CA certificate " + file + ": " + ec.message());
        }
    } else {
        ctx->set_verify_mode(asio::ssl::verify_none);
    }
    std::lock_guard lock(mu);
    if (made.size() >= 8) made.clear();  // old versions of changed files
    made.emplace(key, ctx);
    return ctx;
}

}  // namespace

struct Connection::Impl {
    asio::io_context io{1};
    tcp::socket socket{io};
    std::shared_ptr<asio::ssl::context> ssl_ctx;  // shared: client_context()
    std::optional<asio::ssl::stream<tcp::socket&>> tls;
    std::string host;
    std::string checked_name;  // what the certificate must match
    std::optional<CertificateInfo> certificate;

    // Runs one coroutine to completion on this connection's io_context.
    template <class T>
    Result<T> run(awaitable<Result<T>> op) {
        std::optional<Result<T>> out;
        asio::co_spawn(
            io, [&]() -> awaitable<void> { out.emplace(co_await std::move(op)); },
            [&](std::exception_ptr e) {
                if (e && !out) out.emplace(fail(Errc::cannot_connect, "internal I/O error"));
            });
        io.restart();
        io.run();
        return std::move(*out);
    }

    awaitable<Result<void>> do_connect(std::uint16_t port, Duration timeout);
    awaitable<Result<void>> do_handshake(Duration timeout);
    awaitable<Result<std::size_t>> do_read(std::span<char> buffer, Duration timeout);
    awaitable<Result<void>> do_write(std::string_view bytes, Duration timeout);
    awaitable<Result<void>> do_shutdown();

    Result<void> prepare_tls(const TlsOptions& options);
    Error handshake_error(const error_code& ec);
};

awaitable<Result<void>> Connection::Impl::do_connect(std::uint16_t port, Duration timeout) {
    asio::steady_timer timer(io, timeout);
    std::vector<tcp::endpoint> endpoints;
    error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (!ec) {
        endpoints.emplace_back(address, port);  // loopback tests never touch a resolver
    } else {
        tcp::resolver resolver(io);
        auto r = co_await (resolver.async_resolve(host, std::to_string(port), use_tuple) ||
                           timer.async_wait(use_tuple));
        if (r.index() == 1) co_return timed_out("resolving " + host, timeout);
        auto [rec, results] = std::get<0>(std::move(r));
        if (rec)
            co_return fail(Errc::name_resolution, "cannot resolve " + host + ": " + rec.message());
        for (const auto& e : results) endpoints.push_back(e.endpoint());
    }
    auto r =
        co_await (asio::async_connect(socket, endpoints, use_tuple) || timer.async_wait(use_tuple));
    if (r.index() == 1) {
        socket.close(ec);
        co_return timed_out("connecting to " + host + ":" + std::to_string(port), timeout);
    }
    auto [cec, endpoint] = std::get<0>(r);
    if (cec)
        co_return fail(Errc::cannot_connect, "cannot connect to " + host + ":" +
                                                 std::to_string(port) + ": " + cec.message());
    socket.set_option(tcp::no_delay(true), ec);  // pipelined commands go out at once
    co_return Result<void>{};
}

Result<void> Connection::Impl::prepare_tls(const TlsOptions& options) {
    auto ctx = client_context(options);
    if (!ctx) return std::move(ctx).error();
    ssl_ctx = std::move(*ctx);
    tls.emplace(socket, *ssl_ctx);
    SSL* ssl = tls->native_handle();
    checked_name = options.server_name.empty() ? host : options.server_name;
    if (is_numeric_host(checked_name)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), checked_name.c_str());
    } else {
        SSL_set_tlsext_host_name(ssl, checked_name.c_str());
        SSL_set1_host(ssl, checked_name.c_str());
    }
    return {};
}

Error Connection::Impl::handshake_error(const error_code& ec) {
    const long v = SSL_get_verify_result(tls->native_handle());
    if (v != X509_V_OK) {
        const std::string why = X509_verify_cert_error_string(v);
        if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
            return fail(Errc::cert_name_mismatch,
                        "the server certificate is not valid for " + checked_name + ": " + why);
        if (v == X509_V_ERR_CERT_NOT_YET_VALID)
            return certificate_dates("the server certificate", CertDates::not_yet_valid);
        if (v == X509_V_ERR_CERT_HAS_EXPIRED)
            return certificate_dates("the server certificate", CertDates::expired);
        return fail(Errc::cert_untrusted, "the server certificate is not trusted: " + why);
    }
    return fail(Errc::tls_handshake, "TLS handshake with " + host + " failed: " + ec.message());
}

awaitable<Result<void>> Connection::Impl::do_handshake(Duration timeout) {
    asio::steady_timer timer(io, timeout);
    auto r = co_await (tls->async_handshake(asio::ssl::stream_base::client, use_tuple) ||
                       timer.async_wait(use_tuple));
    if (r.index() == 1) co_return timed_out("TLS handshake", timeout);
    auto [ec] = std::get<0>(r);
    if (ec) co_return handshake_error(ec);

    SSL* ssl = tls->native_handle();
    if (X509* cert = SSL_get1_peer_certificate(ssl)) {
        certificate = CertificateInfo{
            x509_name(X509_get_subject_name(cert)), x509_name(X509_get_issuer_name(cert)),
            asn1_time(X509_get0_notBefore(cert)), asn1_time(X509_get0_notAfter(cert)),
            SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE};
        X509_free(cert);
    }
    co_return Result<void>{};
}

template <class Stream>
awaitable<std::variant<std::tuple<error_code, std::size_t>, std::tuple<error_code>>> read_on(
    Stream& s, asio::steady_timer& timer, std::span<char> buffer) {
    co_return co_await (s.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_tuple) ||
                        timer.async_wait(use_tuple));
}

template <class Stream>
awaitable<std::variant<std::tuple<error_code, std::size_t>, std::tuple<error_code>>> write_on(
    Stream& s, asio::steady_timer& timer, std::string_view bytes) {
    co_return co_await (asio::async_write(s, asio::buffer(bytes.data(), bytes.size()), use_tuple) ||
                        timer.async_wait(use_tuple));
}

awaitable<Result<std::size_t>> Connection::Impl::do_read(std::span<char> buffer, Duration timeout) {
    asio::steady_timer timer(io, timeout);
    std::variant<std::tuple<error_code, std::size_t>, std::tuple<error_code>> r;
    if (tls)
        r = co_await read_on(*tls, timer, buffer);
    else
        r = co_await read_on(socket, timer, buffer);
    if (r.index() == 1) co_return timed_out("waiting for the server", timeout);
    auto [ec, n] = std::get<0>(r);
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
        co_return std::size_t{0};
    // Connected already: a reset now is the server (or something between)
    // dropping the session, not a failure to connect (the fault matrix).
    if (ec)
        co_return fail(Errc::mail_service_unavailable,
                       "the connection to " + host + " was lost: " + ec.message());
    co_return n;
}

awaitable<Result<void>> Connection::Impl::do_write(std::string_view bytes, Duration timeout) {
    asio::steady_timer timer(io, timeout);
    std::variant<std::tuple<error_code, std::size_t>, std::tuple<error_code>> r;
    if (tls)
        r = co_await write_on(*tls, timer, bytes);
    else
        r = co_await write_on(socket, timer, bytes);
    if (r.index() == 1) co_return timed_out("sending to the server", timeout);
    auto [ec, n] = std::get<0>(r);
    if (ec)
        co_return fail(Errc::mail_service_unavailable,
                       "the connection to " + host + " was lost: " + ec.message());
    co_return Result<void>{};
}

awaitable<Result<void>> Connection::Impl::do_shutdown() {
    // Never the synchronous shutdown(): on a single-threaded io_context it
    // waits for a close_notify nobody is reading.
    asio::steady_timer timer(io, std::chrono::seconds(2));
    co_await (tls->async_shutdown(use_tuple) || timer.async_wait(use_tuple));
    co_return Result<void>{};
}

Connection::Connection() : impl_(std::make_unique<Impl>()) {}
Connection::~Connection() {
    close();
}

Result<void> Connection::connect(const std::string& host, std::uint16_t port, Duration timeout) {
    impl_->host = host;
    return impl_->run(impl_->do_connect(port, timeout));
}

Result<void> Connection::start_tls(const TlsOptions& options, Duration timeout) {
    if (!impl_->socket.is_open()) return fail(Errc::tls_handshake, "not connected");
    if (auto r = impl_->prepare_tls(options); !r) return r;
    return impl_->run(impl_->do_handshake(timeout));
}

Result<std::size_t> Connection::read_some(std::span<char> buffer, Duration timeout) {
    return impl_->run(impl_->do_read(buffer, timeout));
}

Result<void> Connection::write(std::string_view bytes, Duration timeout) {
    return impl_->run(impl_->do_write(bytes, timeout));
}

void Connection::close() {
    if (!impl_ || !impl_->socket.is_open()) return;
    if (impl_->tls) (void)impl_->run(impl_->do_shutdown());
    error_code ec;
    impl_->socket.close(ec);
}

bool Connection::quiet() const {
    if (!impl_ || !impl_->socket.is_open()) return false;
    if (impl_->tls) {
        SSL* ssl = impl_->tls->native_handle();
        // Bytes already taken off the socket: decrypted, or waiting in the
        // BIO between Asio and OpenSSL.
        if (SSL_pending(ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0) return false;
    }
    pollfd p{impl_->socket.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
}

bool Connection::is_tls() const noexcept {
    return impl_->tls.has_value();
}

const std::optional<CertificateInfo>& Connection::peer_certificate() const noexcept {
    return impl_->certificate;
}

std::string Connection::tls_version() const {
    if (!impl_->tls) return {};
    return SSL_get_version(impl_->tls->native_handle());
}

}  // namespace pb::net
