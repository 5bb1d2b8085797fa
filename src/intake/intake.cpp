#include "intake/intake.hpp"

#include <fmt/format.h>

#include <optional>

#include "core/fs.hpp"
#include "core/text.hpp"
#include "delivery/policy.hpp"
#include "intake/aliases.hpp"
#include "mime/address.hpp"
#include "mime/preformed.hpp"

namespace pb::intake {
namespace {

// A ByteSource that owns the one it reads.
class Owning final : public ByteSource {
  public:
    explicit Owning(std::unique_ptr<ByteSource> s) : s_(std::move(s)) {}
    Result<std::size_t> read(std::span<char> out) override { return s_->read(out); }

  private:
    std::unique_ptr<ByteSource> s_;
};

// Lends a borrowed source to wrap_preformed, which wants to own it.
class Borrowed final : public ByteSource {
  public:
    explicit Borrowed(ByteSource& s) : s_(s) {}
    Result<std::size_t> read(std::span<char> out) override { return s_.read(out); }

  private:
    ByteSource& s_;
};

Error no_sender(const std::string& profile) {
    return fail(Errc::invalid_input, fmt::format("set {}.sender first", profile));
}

}  // namespace

Intake::Intake(spool::Spool& spool, Profiles& profiles, const Clock& clock, Random& rng,
               std::function<void()> queued)
    : spool_(spool), profiles_(profiles), clock_(clock), rng_(rng), queued_(std::move(queued)) {}

Result<Accepted> Intake::submit(spool::Submission sub, ByteSource& body) {
    if (auto r = profiles_.check_profile(sub.profile); !r) return std::move(r).error();
    Accepted a;
    const auto problem = profiles_.sign_in_problem(sub.profile);
    switch (
        delivery::admit(problem, profiles_.config()->profile(sub.profile).hold_when_signed_out)) {
        case delivery::Admission::queue:
            break;
        case delivery::Admission::hold:
            sub.held = *problem;
            a.held = *problem;
            break;
        case delivery::Admission::refuse:
            return fail(*problem, std::string(kSignInMessage));
    }
    auto id = spool_.accept(sub, body);
    if (!id) return std::move(id).error();
    a.id = *id;
    if (!a.held && queued_) queued_();
    return a;
}

Result<Accepted> Intake::compose(spool::Function function, const std::string& profile,
                                 mime::Draft draft) {
    if (!settings::valid_profile_name(profile))
        return fail(Errc::invalid_input, "no profile " + profile);
    const std::string sender = profiles_.config()->profile(profile).sender;
    if (sender.empty()) return no_sender(profile);
    draft.from = sender;
    std::string subject = draft.subject;
    auto msg = mime::build_message(std::move(draft), clock_, rng_);
    if (!msg) return std::move(msg).error();
    spool::Submission sub{
        function,           profile,     (*msg)->envelope().sender, (*msg)->envelope().recipients,
        std::move(subject), std::nullopt};
    return submit(std::move(sub), **msg);
}

namespace {

// The aliases file as the settings name it, read when a local name needs it.
Result<Aliases> read_aliases(const std::string& path) {
    auto text = read_file(path);
    if (!text)
        return fail(Errc::invalid_input,
                    "the aliases file: " + text.error().detail + " (setting aliases)");
    return Aliases::parse(*text);
}

}  // namespace

Result<std::string> parse_dsn_notify(std::string_view value) {
    const std::string v = upper(trim(value));
    if (v == "NEVER") return v;
    bool seen_any = false;
    for (std::string_view rest = v; !rest.empty();) {
        const auto comma = rest.find(',');
        const std::string_view item = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (item != "SUCCESS" && item != "FAILURE" && item != "DELAY")
            return fail(Errc::invalid_input,
                        fmt::format("-N: '{}' is not never nor a list of success, failure and "
                                    "delay",
                                    escaped(value)));
        seen_any = true;
    }
    if (!seen_any) return fail(Errc::invalid_input, "-N: no value");
    std::string out;
    for (const char c : v)
        if (c != ' ') out += c;
    return out;
}

Result<std::string> parse_dsn_ret(std::string_view value) {
    const std::string v = upper(trim(value));
    if (v == "FULL" || v == "HDRS") return v;
    return fail(Errc::invalid_input,
                fmt::format("-R: '{}' is neither full nor hdrs", escaped(value)));
}

Result<Accepted> Intake::sendmail(const SendmailRequest& r, std::unique_ptr<ByteSource> message,
                                  Sysexit* why) {
    const auto refuse = [why](Sysexit kind, Error e) -> Result<Accepted> {
        if (why != nullptr) *why = kind;
        return e;
    };
    const auto config = profiles_.config();
    if (auto ok = profiles_.check_profile(r.profile); !ok)
        return refuse(Sysexit::config, std::move(ok).error());
    const std::string& sender = config->profile(r.profile).sender;
    // sender_policy rewrite (the default): services such as Exchange Online
    // send only as the signed-in mailbox, so the envelope sender and From
    // become the profile's sender, whatever -f or the message said, and the
    // original From goes to Reply-To (mime::PreformedOptions).
    const bool rewrite =
        config->profile(r.profile).sender_policy == settings::SenderPolicy::rewrite &&
        !sender.empty();
    if (r.from.empty() && sender.empty()) return refuse(Sysexit::config, no_sender(r.profile));
    auto from = mime::parse_mailbox(r.from.empty() || rewrite ? sender : r.from, "-f");
    if (!from) return refuse(Sysexit::usage, std::move(from).error());
    if (!r.full_name.empty()) from->display_name = r.full_name;
    mime::PreformedOptions popts;
    popts.rewrite_from = rewrite;
    // Without -t the headers' recipients are the writer's business: cron's
    // "To: root" goes out as written, to the alias given on the command line.
    popts.parse_recipients = r.recipients_from_headers;
    auto pre = mime::wrap_preformed(std::move(message), *from, clock_, rng_, popts);
    if (!pre) return refuse(Sysexit::data, std::move(pre).error());

    // Addresses as given; local names (no '@') through the aliases file.
    std::vector<std::string> rcpts;
    std::optional<Aliases> aliases;
    for (const auto& raw : r.recipients) {
        if (raw.find('@') == std::string::npos && settings::valid_user_name(lower(raw))) {
            if (!aliases) {
                auto read = read_aliases(config->global().aliases);
                if (!read) return refuse(Sysexit::no_user, std::move(read).error());
                aliases = std::move(*read);
            }
            auto expanded = aliases->expand(raw);
            if (!expanded) return refuse(Sysexit::no_user, std::move(expanded).error());
            for (auto& a : *expanded) rcpts.push_back(std::move(a));
            continue;
        }
        auto list = mime::parse_address_list(raw, "recipient");
        if (!list) return refuse(Sysexit::usage, std::move(list).error());
        for (const auto& m : *list) rcpts.push_back(m.addr_spec());
    }
    if (r.recipients_from_headers)
        for (const auto* list : {&pre->to, &pre->cc, &pre->bcc})
            for (const auto& m : *list) rcpts.push_back(m.addr_spec());
    if (rcpts.empty())
        return refuse(Sysexit::usage,
                      fail(Errc::invalid_input, "no recipient: give addresses or -t"));

    spool::Submission sub{r.function,       r.profile,    from->addr_spec(),
                          std::move(rcpts), pre->subject, std::nullopt};
    sub.submitter = r.submitter;
    if (!r.dsn_notify.empty()) {
        auto notify = parse_dsn_notify(r.dsn_notify);
        if (!notify) return refuse(Sysexit::usage, std::move(notify).error());
        sub.dsn_notify = std::move(*notify);
    }
    if (!r.dsn_ret.empty()) {
        auto ret = parse_dsn_ret(r.dsn_ret);
        if (!ret) return refuse(Sysexit::usage, std::move(ret).error());
        sub.dsn_ret = std::move(*ret);
    }
    auto accepted = submit(std::move(sub), *pre->message);
    if (!accepted) {
        const Errc c = accepted.error().code;
        const bool sign_in =
            c == Errc::not_signed_in || c == Errc::sign_in_expired || c == Errc::sign_in_again;
        return refuse(sign_in                       ? Sysexit::unavailable
                      : c == Errc::spool_unwritable ? Sysexit::tempfail
                                                    : Sysexit::data,
                      std::move(accepted).error());
    }
    return accepted;
}

Result<Accepted> Intake::relayed(const RelayedMessage& envelope, ByteSource& message) {
    const auto config = profiles_.config();
    const std::string& profile = config->global().relay_profile;
    const bool rewrite = config->global().relay_sender_policy == settings::SenderPolicy::rewrite;
    auto profile_sender = mime::parse_mailbox(config->profile(profile).sender, "sender");

    spool::Submission sub;
    sub.function = spool::Function::relay;
    sub.profile = profile;
    sub.sender = envelope.sender;
    sub.recipients = envelope.recipients;
    sub.trace = envelope.received;

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
        if (!pre) return std::move(pre).error();
        sub.subject = pre->subject;
        body = std::move(pre->message);
    } else {
        // Neither a usable profile sender nor envelope sender: pass the
        // message on as received; delivery reports what the server says.
        body = std::make_unique<Borrowed>(message);
    }
    // A delivery report goes to the device's own sender when the policy
    // replaced it.
    if (!envelope.sender.empty() && !iequals(envelope.sender, sub.sender))
        sub.return_path = envelope.sender;
    Owning source(std::move(body));
    return submit(std::move(sub), source);
}

}  // namespace pb::intake
