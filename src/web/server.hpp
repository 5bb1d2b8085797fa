// The HTTP(S) server of Web Config: accepts connections, reads requests
// with limits and deadlines, hands each one to a Handler and writes the
// answer. Beast and Asio stay inside server.cpp; this header is plain C++.
//
// Pages run one at a time on a worker thread of their own, so a slow
// password check (PBKDF2, 600000 rounds) never stalls the connections, and
// the handler needs no lock of its own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "web/http.hpp"

namespace pb::web {

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8443;  // 0: any free port (tests)
    bool tls = true;
    std::filesystem::path cert;  // PEM, with the chain
    std::filesystem::path key;   // PEM
    std::function<void(std::string_view)> log = [](std::string_view) {};
};

class Server {
  public:
    // Binds and listens; nothing is served until run(). Errors: 652 for an
    // unusable address, 651 for certificate files that cannot be read, 602
    // when the port cannot be bound.
    static Result<std::unique_ptr<Server>> create(ServerOptions options, Handler handler);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    std::uint16_t port() const noexcept;  // the bound port
    // Serves until SIGINT or SIGTERM (or stop()), then returns.
    void run();
    // From any thread.
    void stop();
    // Reads the certificate and key files again (serve's SIGHUP): connections
    // accepted from now on are served with them, open ones keep what they
    // had. The pair is checked first; when it is unusable the one in use
    // stays and the error says why. From any thread while run() runs.
    Result<void> reload_certificate(const std::filesystem::path& cert,
                                    const std::filesystem::path& key);

    // serve's SIGHUP with a new web.listen: new connections are accepted on
    // HOST:PORT, open ones go on. Bound before the old address closes (or,
    // for the same port, closed first and opened again on failure); when it
    // cannot, the address in use stays and the error says why. From any
    // thread while run() runs.
    Result<void> listen_on(const std::string& host, std::uint16_t port);

  private:
    struct Impl;
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace pb::web
