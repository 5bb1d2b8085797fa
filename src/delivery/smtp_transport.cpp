// SmtpTransport (smtp_transport.hpp): carries results across, decides nothing.
#include "delivery/smtp_transport.hpp"

#include <algorithm>

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
    mo.transport = "smtp";
    return mo;
}

// Everything a connection depends on but the secrets: a kept connection is
// reused only for the same. (A changed password or token does not matter to
// a connection already authenticated.)
std::string settings_of(const SmtpEndpoint& e) {
    const auto& s = e.server;
    const auto& c = e.credentials;
    std::string key = s.host + '\n' + std::to_string(s.port) + '\n' +
                      std::to_string(static_cast<int>(s.security)) + '\n' + s.helo_name + '\n' +
                      (s.tls.verify ? "verify" : "no-verify") + '\n' +
                      (s.tls.system_store ? "system" : "no-system") + '\n' + s.tls.server_name +
                      '\n' + std::to_string(static_cast<int>(c.method)) + '\n' + c.user + '\n' +
                      c.mechanism + '\n';
    for (const auto& f : s.tls.ca_files) key += f + '\n';
    if (s.timeout_limit) key += std::to_string(s.timeout_limit->count());
    return key;
}

}  // namespace

SmtpTransport::~SmtpTransport() {
    close_where([](const Kept&) { return true; });
}

std::size_t SmtpTransport::kept() const {
    std::lock_guard lock(mu_);
    return kept_.size();
}

void SmtpTransport::close_where(const std::function<bool(const Kept&)>& drop) {
    std::vector<std::unique_ptr<Kept>> closing;
    {
        std::lock_guard lock(mu_);
        for (auto& k : kept_)
            if (drop(*k)) closing.push_back(std::move(k));
        std::erase(kept_, nullptr);  // the ones moved out
    }
    for (auto& k : closing) k->sender->quit();  // each bounded by the session's quit timeout
}

void SmtpTransport::tidy() {
    const auto now = Steady::now();
    close_where([&](const Kept& k) {
        return now - k.idle_since >= reuse_.idle || now - k.opened >= reuse_.max_age;
    });
}

std::unique_ptr<SmtpTransport::Kept> SmtpTransport::take(const std::string& profile,
                                                         const std::string& settings) {
    const auto now = Steady::now();
    std::lock_guard lock(mu_);
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
        Kept& k = **it;
        if (k.profile != profile || k.settings != settings) continue;
        if (now - k.idle_since >= reuse_.idle || now - k.opened >= reuse_.max_age) continue;
        auto found = std::move(*it);  // tidy() closes the ones passed over
        kept_.erase(it);
        return found;
    }
    return nullptr;
}

void SmtpTransport::put_back(std::unique_ptr<Kept> k) {
    k->idle_since = Steady::now();
    std::lock_guard lock(mu_);
    kept_.push_back(std::move(k));
}

BatchOutcome SmtpTransport::send(const std::string& profile, std::span<OutgoingMessage> messages,
                                 const Done& done) {
    BatchOutcome out;
    auto endpoint = resolve_(profile);
    if (!endpoint) {
        // Nothing to connect with (no sign-in, no server set): every message
        // meets the same error, and policy decides (hold for 360, ...). A
        // connection kept from before the profile was signed out is not used.
        close_where([&](const Kept& k) { return k.profile == profile; });
        for (std::size_t i = 0; i < messages.size(); ++i)
            out.messages.push_back({{}, endpoint.error(), false, "smtp"});
        return out;
    }
    const std::string settings = settings_of(*endpoint);
    std::unique_ptr<Kept> conn = take(profile, settings);
    if (!conn) {
        conn = std::make_unique<Kept>();
        conn->profile = profile;
        conn->settings = settings;
        conn->sender = std::make_unique<smtp::Sender>(endpoint->server, endpoint->credentials);
        conn->keep = std::move(endpoint->keep);
        conn->opened = Steady::now();
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
        env.dsn_notify = m.dsn_notify;
        env.dsn_ret = m.dsn_ret;
        smtp_messages.push_back(smtp::OutgoingMessage{std::move(env), m.body});
    }
    smtp::ResultHook hook;
    const std::string& host = endpoint->server.host;
    const std::string server = (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                               ":" + std::to_string(endpoint->server.port);
    if (done)
        hook = [&done, &server](std::size_t i, const smtp::MessageResult& r) {
            MessageOutcome mo = outcome_of(r);
            mo.server = server;
            done(i, mo);
        };
    smtp::SendReport report = conn->sender->send(smtp_messages, hook);
    if (conn->sender->reusable())
        put_back(std::move(conn));
    else
        conn->sender->quit();
    out.transcript = std::move(report.transcript);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (i < report.messages.size()) {
            out.messages.push_back(outcome_of(report.messages[i]));
        } else {
            MessageOutcome mo;
            mo.transport = "smtp";
            mo.error = report.error
                           ? *report.error
                           : fail(Errc::mail_service_unavailable, "the session ended early");
            out.messages.push_back(std::move(mo));
        }
        out.messages.back().server = server;
    }
    return out;
}

}  // namespace pb::delivery
