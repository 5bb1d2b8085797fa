// A TCP connection that can become TLS: plain, STARTTLS on the same socket,
// or implicit TLS; with a deadline on every operation and failures mapped to
// postbridge's codes (601 name, 602 connect, 603 timeout, 611 handshake,
// 612 untrusted or expired certificate, 613 name mismatch).
//
// Plain C++ on purpose: Asio and OpenSSL stay inside connection.cpp, the
// only translation unit that pays their compile time. Each call runs the
// connection's own io_context until that one operation is done, so callers
// (the SMTP adapter now, POP3 and the relay's outbound side later) see a
// simple blocking interface while every wait inside is a coroutine racing a
// timer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace pb::net {

struct TlsOptions {
    bool verify = true;                 // smtp.verify_cert
    bool system_store = true;           // the system bundle (Root Certificate Update)
    std::vector<std::string> ca_files;  // imported CA certificates, PEM
    // The name the certificate must carry; empty: the host given to
    // connect(). Lets a caller connect to an address it resolved itself.
    std::string server_name;
};

// What test-connection shows of the server's certificate.
struct CertificateInfo {
    std::string subject;  // RFC 2253, e.g. "CN=localhost"
    std::string issuer;
    TimePoint not_before;
    TimePoint not_after;
    bool verified = false;  // false when verification was turned off
};

class Connection {
  public:
    Connection();
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Numeric hosts are used as they are, without any resolver call.
    Result<void> connect(const std::string& host, std::uint16_t port, Duration timeout);
    // TLS over the connected socket; the host given to connect() is the name
    // checked against the certificate (and sent as SNI when it is a name).
    Result<void> start_tls(const TlsOptions& options, Duration timeout);
    // Some bytes into `buffer`; 0 means the peer closed the connection.
    Result<std::size_t> read_some(std::span<char> buffer, Duration timeout);
    Result<void> write(std::string_view bytes, Duration timeout);
    // TLS close_notify (bounded by a short deadline), then the socket.
    void close();
    // Open, and nothing arrived or was closed by the peer since the last
    // read: a connection kept idle between uses is worth trying again only
    // then (a server that timed it out sends 421 or hangs up). Never blocks.
    bool quiet() const;

    bool is_tls() const noexcept;
    const std::optional<CertificateInfo>& peer_certificate() const noexcept;
    std::string tls_version() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pb::net
