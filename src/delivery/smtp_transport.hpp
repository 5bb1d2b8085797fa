// The SMTP client (src/smtp) as a delivery Transport: one smtp::send() per
// batch, so queued messages share one authenticated connection, and its
// report turned into per-message, per-recipient outcomes. Where the server
// and the credentials come from is the caller's business (the command line
// and serve build them from settings and the token store).
#pragma once

#include <functional>
#include <memory>

#include "delivery/transport.hpp"
#include "smtp/client.hpp"

namespace pb::delivery {

struct SmtpEndpoint {
    smtp::ServerConfig server;
    smtp::Credentials credentials;
    // Whatever `credentials` points into (a token provider and the runtime
    // behind it), kept alive for as long as the batch's connection.
    std::shared_ptr<void> keep;
};

class SmtpTransport final : public Transport {
  public:
    // Asked for every batch, so a changed setting applies to the next one.
    using Resolve = std::function<Result<SmtpEndpoint>(const std::string& profile)>;
    explicit SmtpTransport(Resolve resolve) : resolve_(std::move(resolve)) {}

    BatchOutcome send(const std::string& profile, std::span<OutgoingMessage> messages,
                      const Done& done = {}) override;

  private:
    Resolve resolve_;
};

}  // namespace pb::delivery
