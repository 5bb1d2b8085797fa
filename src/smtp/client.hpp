// Sending mail over SMTP: the adapter that drives the pure Session over a
// net::Connection. This is what delivery/ and `postbridge test-connection`
// call; everything protocol-shaped lives in session.hpp, everything
// socket-shaped in net/connection.hpp, and this file only carries actions
// from one to the other.
//
// Synchronous: each call runs its own connection (and io_context) on the
// calling thread. A delivery worker owns one connection at a time, so this
// is all it needs, and nothing here is shared between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "core/source.hpp"
#include "net/connection.hpp"
#include "smtp/session.hpp"

namespace pb::smtp {

// Where access tokens come from; the OAuth part implements it (with its
// single-flight refresh and inter-process lock). Errors carry the OAuth
// codes: 360, 361, 370, 642, 643.
class TokenProvider {
  public:
    virtual ~TokenProvider() = default;
    // A token believed valid. forced: the server refused the last one;
    // refresh even if it has not expired by its clock.
    virtual Result<Secret> access_token(bool forced) = 0;
};

struct ServerConfig {
    std::string host;
    std::uint16_t port = 587;
    Security security = Security::starttls;
    net::TlsOptions tls;
    std::string helo_name = "localhost";
    std::optional<Duration> timeout_limit;  // see SessionConfig
    bool allow_plaintext_auth = false;      // see SessionConfig
};

struct Credentials {
    AuthMethod method = AuthMethod::off;
    std::string user;                 // the Authenticated Account
    Secret password;                  // smtp-auth
    TokenProvider* tokens = nullptr;  // oauth2; not owned
    std::string mechanism;            // force one SASL mechanism; empty: choose
};

struct OutgoingMessage {
    Envelope envelope;  // size taken from body.size_hint() when unset
    ByteSource* body;   // read in chunks while DATA streams; not owned
};

struct SendReport {
    std::vector<MessageResult> messages;  // one per message given, in order
    std::optional<Error> error;  // the session failed (messages it did not finish carry it too)
    std::string phase;
    std::string transcript;    // redacted
    bool ok() const noexcept;  // every message accepted by the server
};

// `on_result`, when given, sees each message's result as soon as the server
// answered it (index into `messages`), before the next message is sent:
// delivery records a delivered message at once, so a crash later in the
// batch never sends it again.
using ResultHook = std::function<void(std::size_t index, const MessageResult& result)>;

class Driver;

// A connection to the server kept between batches: the first send()
// connects and authenticates, the following ones go on over the same
// connection while it is reusable(). This is delivery's connection reuse:
// a queue of scans pays for TCP, TLS and AUTH once, not once a batch.
// One thread at a time; the credentials' token source must outlive it.
class Sender {
  public:
    Sender(ServerConfig server, Credentials credentials);
    ~Sender();  // closes without QUIT; call quit() to end politely
    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;

    // Sends `messages` in order, with RSET between a refused message and
    // the next. The connection stays open afterwards unless it failed (or
    // keep_open(false): QUIT after the last message).
    SendReport send(std::span<OutgoingMessage> messages, const ResultHook& on_result = {});
    // Open, idle, and the server has neither spoken nor hung up since.
    bool reusable() const;
    // QUIT and close, if open.
    void quit();
    void keep_open(bool keep) noexcept { keep_open_ = keep; }

  private:
    SendReport drive(std::span<OutgoingMessage> messages, const ResultHook& on_result, bool resume);

    ServerConfig server_;
    Credentials credentials_;
    std::unique_ptr<Driver> driver_;
    bool keep_open_ = true;
    std::size_t answered_ = 0;  // messages the server answered in the last drive()
    bool body_asked_ = false;   // and whether a body began to go out in it
};

// Sends `messages` in order over one connection, authenticated once, with
// RSET between a refused message and the next, then QUIT.
SendReport send(const ServerConfig& server, const Credentials& credentials,
                std::span<OutgoingMessage> messages, const ResultHook& on_result = {});

struct ConnectionStep {
    std::string name;  // "connect", "tls", "ehlo", "auth"
    bool ok = false;
    std::string detail;  // what was found, or why it failed
};

struct ConnectionTest {
    std::vector<ConnectionStep> steps;
    std::optional<net::CertificateInfo> certificate;
    Capabilities capabilities;
    std::optional<Error> error;
    std::string transcript;  // redacted
    bool ok() const noexcept { return !error; }
};

// Connect, TLS, EHLO, AUTH, QUIT: no mail is sent.
ConnectionTest test_connection(const ServerConfig& server, const Credentials& credentials);

}  // namespace pb::smtp
