#include "relay/intake.hpp"

#include <fmt/format.h>

#include "mime/address.hpp"
#include "mime/preformed.hpp"

namespace pb::relay {
namespace {

bool same_address(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto l = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (l(a[i]) != l(b[i])) return false;
    }
    return true;
}

// A ByteSource that owns the one it reads.
class Owning final : public ByteSource {
  public:
    explicit Owning(std::unique_ptr<ByteSource> s) : s_(std::move(s)) {}
    Result<std::size_t> read(std::span<char> out) override { return s_->read(out); }

  private:
    std::unique_ptr<ByteSource> s_;
};

// Wraps a borrowed source so wrap_preformed can own it.
class Borrowed final : public ByteSource {
  public:
    explicit Borrowed(ByteSource& s) : s_(s) {}
    Result<std::size_t> read(std::span<char> out) override { return s_.read(out); }

  private:
    ByteSource& s_;
};

std::string reply_for(const Error& e) {
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

}  // namespace

Intake::Intake(service::Outbox& outbox, const Clock& clock, Random& rng,
               std::function<void(std::string_view)> log)
    : outbox_(outbox), clock_(clock), rng_(rng), log_(std::move(log)) {}

std::string Intake::submit(const Envelope& envelope, const std::string& client,
                           ByteSource& message) {
    const settings::Settings cfg = outbox_.settings();
    const std::string profile = cfg.get_global("relay.profile");
    const bool rewrite = cfg.get_global("relay.sender_policy") == "rewrite";
    auto profile_sender = mime::parse_mailbox(cfg.get(profile, "sender"), "sender");

    spool::Submission sub;
    sub.function = spool::Function::relay;
    sub.profile = profile;
    sub.sender = envelope.sender;
    sub.recipients = envelope.recipients;

    // From is needed only when the message has none: the profile's sender,
    // else the envelope sender.
    std::optional<mime::Mailbox> default_from;
    if (profile_sender) {
        default_from = *profile_sender;
    } else if (auto m = mime::parse_mailbox(envelope.sender, "MAIL FROM"); m) {
        default_from = *m;
    }
    if (rewrite && profile_sender) sub.sender = profile_sender->addr_spec();

    std::unique_ptr<ByteSource> body;
    if (default_from) {
        mime::PreformedOptions opts;
        opts.rewrite_from = rewrite && profile_sender.ok();
        opts.parse_recipients = false;
        auto pre = mime::wrap_preformed(std::make_unique<Borrowed>(message), *default_from, clock_,
                                        rng_, opts);
        if (!pre) {
            log_(fmt::format("relay: refused a message from {}: {}", client,
                             pre.error().describe()));
            return reply_for(pre.error());
        }
        sub.subject = pre->subject;
        body = std::move(pre->message);
    } else {
        // Neither a usable profile sender nor envelope sender: pass the
        // message on as received; delivery reports what the server says.
        body = std::make_unique<Borrowed>(message);
    }
    Owning source(std::move(body));
    if (!envelope.sender.empty() && !same_address(envelope.sender, sub.sender))
        sub.return_path = envelope.sender;  // its delivery report goes to the device's sender
    auto accepted = outbox_.submit(std::move(sub), source);
    if (!accepted) {
        log_(fmt::format("relay: could not accept a message from {}: {}", client,
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
