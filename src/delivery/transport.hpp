// What delivery needs from a transport: send a batch of messages over one
// connection (authenticated once) and say, per message and per recipient,
// what the server did, with a redacted transcript of the session. The SMTP
// client (smtp_transport.hpp), the Graph client (graph_transport.hpp) and the
// tests' fake implement it.
//
// A transport reports; it never decides. Retry, hold and fail are policy.hpp's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/source.hpp"

namespace pb::delivery {

struct OutgoingMessage {
    std::int64_t job = 0;
    std::string sender;                   // MAIL FROM
    std::vector<std::string> recipients;  // RCPT TO, only those still pending
    ByteSource* body = nullptr;           // not owned; read once
    std::uint64_t size = 0;
    // A fresh reader of the same message from its first byte, for a
    // transport that reads it more than once (Graph: structure, draft,
    // attachments). Empty when the message cannot be read again.
    std::function<Result<std::unique_ptr<ByteSource>>()> reopen = {};
    // RFC 3461 parameters the submitter asked for (sendmail -N, -R); empty:
    // none. Passed on where the server offers DSN.
    std::string dsn_notify = {};
    std::string dsn_ret = {};
};

struct RecipientOutcome {
    std::string address;
    std::optional<Error> error;  // nullopt: accepted
    std::string reply;           // "550 5.1.1 <x>: no such user"
};

struct MessageOutcome {
    // One per recipient the transport got to; a recipient not listed was
    // not tried and stays pending.
    std::vector<RecipientOutcome> recipients;
    // The message as a whole failed (connection, auth, DATA refused, ...).
    // Recipients reported accepted did not receive it then.
    std::optional<Error> error;
    // It broke off after the end of data was sent and before the reply: the
    // server may have taken it, and a resend may duplicate it.
    bool maybe_sent = false;
    // "smtp" or "graph": the transport that tried it, kept with the job
    // (`jobs show`); with transport auto it may be either.
    std::string transport = {};
    // Where it went, "host:port", for the delivery log; "" when no server
    // was reached or named.
    std::string server = {};
};

struct BatchOutcome {
    std::vector<MessageOutcome> messages;  // exactly one per message, in order
    std::string transcript;                // redacted; kept with failed jobs
};

class Transport {
  public:
    virtual ~Transport() = default;
    // `done(i, outcome)`, when given, is told of each message the server
    // answered as soon as it did (the same outcome is in the batch's).
    using Done = std::function<void(std::size_t index, const MessageOutcome& outcome)>;
    virtual BatchOutcome send(const std::string& profile, std::span<OutgoingMessage> messages,
                              const Done& done = {}) = 0;
    // Called now and then by a long-running engine: close connections kept
    // open between batches that have been idle too long.
    virtual void tidy() {}
};

}  // namespace pb::delivery
