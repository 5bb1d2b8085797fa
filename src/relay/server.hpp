// The relay's listeners: the only part of src/relay that uses Asio (one
// translation unit, server.cpp: each Asio TU costs a minute and a gigabyte
// to compile here). It moves bytes between sockets and the pure Session,
// with a deadline on every read and write, and hands the slow work (a
// PBKDF2 login check, making a job durable) to worker threads through the
// Backend, so that one slow device never stalls the others: login checks
// and intake on pools of their own, a failed login answered after its
// delay on a timer, not a thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "core/source.hpp"
#include "relay/logins.hpp"
#include "relay/networks.hpp"
#include "relay/session.hpp"

namespace pb::relay {

// What the server needs from the rest of postbridge; called on worker
// threads, several at once.
class Backend {
  public:
    virtual ~Backend() = default;
    // `client` is the address the login comes from (failures are counted
    // per client, logins.hpp).
    virtual Result<LoginVerdict> check_login(const std::string& client, const std::string& user,
                                             const Secret& password) = 0;
    // The reply to the final dot (intake.hpp).
    virtual std::string submit(const Envelope& envelope, const std::string& client,
                               ByteSource& message) = 0;
};

struct ServerOptions {
    std::string listen;                   // ADDR:PORT, plain with STARTTLS; empty: none
    std::string listen_tls;               // ADDR:PORT, implicit TLS; empty: none
    std::filesystem::path cert, key;      // empty: no STARTTLS (and no listen_tls)
    std::string tls_min_version = "1.2";  // 1.0, 1.1, 1.2, 1.3
    std::size_t max_connections = 100;
    std::size_t max_connections_per_client = 10;
    // Connections not logged in yet (outside relay.allowed_networks):
    // 0 means half of max_connections, so that clients that never log in
    // cannot take every slot.
    std::size_t max_unauthenticated = 0;
    std::size_t max_unauthenticated_per_client = 4;
    std::chrono::seconds command_timeout{300};  // RFC 5321 4.5.3.2: 5 minutes, once logged in
    std::chrono::seconds data_timeout{600};     // per read while in DATA (and limits.hpp's rate)
    std::chrono::seconds session_limit{3600};   // a whole connection
    SessionConfig session;  // client_allowed and implicit_tls are set per connection
    Networks allowed;
    std::filesystem::path spill_dir;  // where large messages wait for their dot
    unsigned workers = 4;             // make accepted messages durable (intake)
    // Login checks have threads of their own, so that intake never waits
    // behind a PBKDF2. Logins lets only a few slow checks run at once, so
    // that a cached login finds a free thread here.
    unsigned login_workers = 4;
    std::function<void(std::string_view)> log = [](std::string_view) {};
};

class Server {
  public:
    // Binds and listens, then serves on a thread of its own. 652 for an
    // unusable address or TLS setting, 651 for certificate files that
    // cannot be used, 602 when a port cannot be bound.
    static Result<std::unique_ptr<Server>> start(ServerOptions options, Backend& backend);
    // Stops listening, ends every connection and joins the threads.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // "127.0.0.1:2525" as bound (port 0 resolved); nullopt when not listening.
    std::optional<std::string> address() const;
    std::optional<std::string> address_tls() const;

  private:
    struct Impl;
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// "ADDR:PORT" or "[v6]:PORT" -> host and port; 652 naming `key` otherwise.
Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view text,
                                                              std::string_view key);

}  // namespace pb::relay
