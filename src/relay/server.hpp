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
#include "relay/received.hpp"
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
    virtual std::string submit(const Envelope& envelope, const Arrival& arrival,
                               ByteSource& message) = 0;
    // For the metrics and the log: a connection was taken in, one ended
    // (with the device account that logged in, "" for none, and the
    // replies to its messages: "250 2.0.0 Ok: queued as 12", ...), a login
    // failed.
    virtual void connection_opened(const std::string& /*client*/) {}
    virtual void connection_closed(const std::string& /*client*/, const std::string& /*user*/,
                                   const std::vector<std::string>& /*replies*/) {}
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

    // serve's SIGHUP: the settings of `next` for new connections (limits,
    // allowed networks, session settings, the lowest TLS version) and the
    // listeners moved where relay.listen and relay.listen_tls now say,
    // without dropping a connection. Not changed here: the certificate
    // (reload_certificate), the spill directory, the workers and the log.
    // A listener that cannot move keeps listening where it did, and the
    // error says why (602, or 652 for an unusable address).
    Result<void> reconfigure(const ServerOptions& next);

    // serve's SIGTERM: stops listening, tells each client waiting between
    // transactions "421 4.3.2 shutting down" and closes it, lets the
    // transactions under way end (each client is told 421 after its reply),
    // and returns when none is left or at `deadline`, whichever comes first.
    // What is left at the deadline ends with the Server: a device whose
    // final dot was not answered sends its message again (if intake had
    // already made it durable, it goes out twice: RFC 1047's window).
    void drain(std::chrono::steady_clock::time_point deadline);

    // "127.0.0.1:2525" as bound (port 0 resolved); nullopt when not listening.
    std::optional<std::string> address() const;
    std::optional<std::string> address_tls() const;

    // serve's SIGHUP: the certificate and key read again (renewed in place)
    // for new connections; those under way keep theirs. A pair that does
    // not load or match leaves the one in use (651). Nothing to do when the
    // relay has no TLS.
    Result<void> reload_certificate(const std::filesystem::path& cert,
                                    const std::filesystem::path& key);

  private:
    struct Impl;
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// "ADDR:PORT" or "[v6]:PORT" -> host and port; 652 naming `key` otherwise.
Result<std::pair<std::string, std::uint16_t>> split_host_port(std::string_view text,
                                                              std::string_view key);

}  // namespace pb::relay
