// SmtpTransport (smtp_transport.hpp): carries results across, decides nothing.
#include "delivery/smtp_transport.hpp"

namespace pb::delivery {

namespace {

MessageOutcome outcome_of(const smtp::MessageResult& r) {
    MessageOutcome mo;
    for (const auto& rc : r.recipients) {
        RecipientOutcome ro{rc.address, std::nullopt,
                            rc.reply.code ? rc.reply.summary() : std::string{}};
        if (rc.code) ro.error = fail(*rc.code, ro.reply.empty() ? "recipient refused" : ro.reply);
        mo.recipients.push_back(std::move(ro));
    }
    mo.error = r.error;
    mo.maybe_sent = r.maybe_sent;
    return mo;
}

}  // namespace

BatchOutcome SmtpTransport::send(const std::string& profile, std::span<OutgoingMessage> messages,
                                 const Done& done) {
    BatchOutcome out;
    auto endpoint = resolve_(profile);
    if (!endpoint) {
        // Nothing to connect with (no sign-in, no server set): every message
        // meets the same error, and policy decides (hold for 360, ...).
        for (std::size_t i = 0; i < messages.size(); ++i)
            out.messages.push_back({{}, endpoint.error(), false});
        return out;
    }
    std::vector<smtp::OutgoingMessage> smtp_messages;
    smtp_messages.reserve(messages.size());
    for (auto& m : messages) {
        smtp::Envelope env;
        env.from = m.sender;
        env.to = m.recipients;
        env.size = m.size;
        // MIME from our builder is 7-bit clean; a preformed message may not
        // be, and BODY=8BITMIME is harmless where offered.
        env.eight_bit = true;
        smtp_messages.push_back(smtp::OutgoingMessage{std::move(env), m.body});
    }
    smtp::ResultHook hook;
    if (done)
        hook = [&done](std::size_t i, const smtp::MessageResult& r) { done(i, outcome_of(r)); };
    smtp::SendReport report =
        smtp::send(endpoint->server, endpoint->credentials, smtp_messages, hook);
    out.transcript = std::move(report.transcript);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (i < report.messages.size()) {
            out.messages.push_back(outcome_of(report.messages[i]));
        } else {
            MessageOutcome mo;
            mo.error = report.error
                           ? *report.error
                           : fail(Errc::mail_service_unavailable, "the session ended early");
            out.messages.push_back(std::move(mo));
        }
    }
    return out;
}

}  // namespace pb::delivery
