#include "relay/intake.hpp"

#include <fmt/format.h>

namespace pb::relay {

std::string reply_for(const Error& e) {
    // RFC 5321's 452 (insufficient system storage) and RFC 3463's 4.3.1
    // (mail system full): the device tries again, and may tell its user why.
    if (e.storage_full())
        return "452 4.3.1 Not enough storage for the message now; try again later";
    switch (e.code) {
        case Errc::invalid_input:
            return "554 5.6.0 Message refused: " + e.detail;
        case Errc::not_signed_in:
        case Errc::sign_in_expired:
        case Errc::sign_in_again:
            return "451 4.7.0 The relay's mail account is not signed in; try again later";
        default:
            return "451 4.3.0 Could not store the message now; try again later";
    }
}

Intake::Intake(intake::Intake& intake, std::function<void(std::string_view)> log)
    : intake_(intake), log_(std::move(log)) {}

std::string Intake::submit(const Envelope& envelope, const Arrival& arrival, ByteSource& message) {
    const std::string& client = arrival.client;
    auto accepted = intake_.relayed({envelope.sender, envelope.recipients,
                                     received_header(envelope, arrival, intake_.clock().now())},
                                    message);
    if (!accepted) {
        log_(fmt::format(
            "relay: {} a message from {}: {}",
            accepted.error().code == Errc::invalid_input ? "refused" : "could not accept", client,
            accepted.error().describe()));
        return reply_for(accepted.error());
    }
    log_(fmt::format("relay: job {} accepted from {}{}: {} recipient(s), {} bytes{}", accepted->id,
                     client, envelope.user ? " (" + *envelope.user + ")" : "",
                     envelope.recipients.size(), envelope.size,
                     accepted->held ? ", held until the profile is signed in" : ""));
    std::string reply = fmt::format("250 2.0.0 Ok: queued as {}", accepted->id);
    if (accepted->held) reply += " (held until the relay's account is signed in)";
    return reply;
}

}  // namespace pb::relay
