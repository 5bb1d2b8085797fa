// The Microsoft Graph client (src/graph) as a delivery Transport. Each
// message of a batch is one send (sendMail, or a draft with upload
// sessions); Graph's answer is for the whole message, so every pending
// recipient is accepted or none is. Where the endpoint, the mailbox and the
// token come from is the caller's business (the outbox builds them from
// settings and the token store, as for SMTP).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "delivery/transport.hpp"
#include "graph/client.hpp"
#include "oauth/http.hpp"

namespace pb::delivery {

struct GraphEndpoint {
    graph::Options options;  // endpoint, mailbox
    std::shared_ptr<graph::Tokens> tokens;
    std::shared_ptr<oauth::HttpClient> http;  // the profile's proxy and CAs
    std::shared_ptr<void> keep;               // whatever the above point into
};

class GraphTransport final : public Transport {
  public:
    using Resolve = std::function<Result<GraphEndpoint>(const std::string& profile)>;
    // `drafts_dir`: where the ids of drafts under way are written down (a
    // directory of the state directory); `wait`: how a Retry-After is
    // waited out (the engine's waiter in serve, a recorder in tests).
    GraphTransport(Resolve resolve, const Clock& clock, graph::Waiter wait,
                   std::filesystem::path drafts_dir);

    BatchOutcome send(const std::string& profile, std::span<OutgoingMessage> messages,
                      const Done& done = {}) override;

    // The most Graph requests ever under way at once for one mailbox.
    int peak_concurrency() const { return gate_.peak(); }

  private:
    Resolve resolve_;
    const Clock& clock_;
    graph::Waiter wait_;
    graph::MailboxGate gate_;
    graph::FileDraftLedger ledger_;
};

}  // namespace pb::delivery
