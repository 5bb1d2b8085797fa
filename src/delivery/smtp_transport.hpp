// The SMTP client (src/smtp) as a delivery Transport. A batch goes out over
// one authenticated connection, and the connection is kept afterwards for
// the profile's next batch (an smtp::Sender per connection), so a queue of
// scans pays for TCP, TLS and AUTH once rather than once a batch. The
// client's report becomes per-message, per-recipient outcomes. Where the
// server and the credentials come from is the caller's business (the
// command line and serve build them from settings and the token store).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "delivery/transport.hpp"
#include "smtp/client.hpp"

namespace pb::delivery {

struct SmtpEndpoint {
    smtp::ServerConfig server;
    smtp::Credentials credentials;
    // Whatever `credentials` points into (a token provider and the runtime
    // behind it), kept alive for as long as the connection made with them.
    std::shared_ptr<void> keep;
};

struct ConnectionReuse {
    // A connection idle this long is closed (QUIT) rather than kept. Servers
    // wait at least 5 minutes (RFC 5321 4.5.3.2); one that gives up earlier
    // is noticed before reuse (smtp::Sender::reusable).
    std::chrono::steady_clock::duration idle = std::chrono::seconds{60};
    // And one this old, however busy: a fresh AUTH now and then picks up a
    // rotated token or changed rights.
    std::chrono::steady_clock::duration max_age = std::chrono::minutes{10};
};

class SmtpTransport final : public Transport {
  public:
    // Asked for every batch, so a changed setting applies to the next one
    // (and a kept connection made under other settings is not reused).
    using Resolve = std::function<Result<SmtpEndpoint>(const std::string& profile)>;
    explicit SmtpTransport(Resolve resolve, ConnectionReuse reuse = {})
        : resolve_(std::move(resolve)), reuse_(reuse) {}
    ~SmtpTransport() override;  // QUITs the kept connections

    BatchOutcome send(const std::string& profile, std::span<OutgoingMessage> messages,
                      const Done& done = {}) override;
    void tidy() override;

    // How many connections are kept open now (for tests and status).
    std::size_t kept() const;

  private:
    using Steady = std::chrono::steady_clock;
    struct Kept {
        std::string profile;
        std::string settings;  // what the connection was made with, secrets left out
        std::unique_ptr<smtp::Sender> sender;
        std::shared_ptr<void> keep;
        Steady::time_point opened, idle_since;
    };
    // A kept connection for these settings, if there is one still good.
    std::unique_ptr<Kept> take(const std::string& profile, const std::string& settings);
    void put_back(std::unique_ptr<Kept> k);
    // Removes the kept connections `drop` picks; QUITs them outside the lock.
    void close_where(const std::function<bool(const Kept&)>& drop);

    Resolve resolve_;
    ConnectionReuse reuse_;
    mutable std::mutex mu_;
    std::vector<std::unique_ptr<Kept>> kept_;
};

}  // namespace pb::delivery
