#include "service/outbox.hpp"

#include <iostream>

#include <fmt/format.h>

#include "oauth/token.hpp"

namespace pb::service {
namespace {

// Each profile's batches go to the transport of its kind (`transport`).
class ByProfile final : public delivery::Transport {
  public:
    using Kinds = std::map<settings::Transport, std::unique_ptr<delivery::Transport>>;
    ByProfile(Outbox& outbox, Kinds kinds) : outbox_(outbox), kinds_(std::move(kinds)) {}

    delivery::BatchOutcome send(const std::string& profile,
                                std::span<delivery::OutgoingMessage> messages,
                                const Done& done) override {
        const auto kind = outbox_.config()->profile(profile).transport;
        if (auto it = kinds_.find(kind); it != kinds_.end())
            return it->second->send(profile, messages, done);
        delivery::BatchOutcome out;
        const Error e = fail(Errc::invalid_input,
                             fmt::format("{}: this build has no {} transport: set {}.transport",
                                         profile, settings::to_string(kind), profile));
        for (std::size_t i = 0; i < messages.size(); ++i) {
            delivery::MessageOutcome m;
            m.error = e;
            out.messages.push_back(m);
        }
        return out;
    }
    void tidy() override {
        for (auto& [kind, t] : kinds_) t->tidy();
    }

  private:
    Outbox& outbox_;
    Kinds kinds_;
};

}  // namespace

Result<Backends> open_backends(const std::filesystem::path& state_dir, const Clock& clock,
                               Random& rng, const store::Options& options) {
    Backends b;
    auto st = store::Store::open(state_dir, rng, clock, options);
    if (!st) return std::move(st).error();
    b.store = std::move(*st);
    b.file_ops = std::make_unique<spool::PosixFileOps>();
    auto sp = spool::Spool::open(state_dir, *b.file_ops, clock, rng);
    if (!sp) return std::move(sp).error();
    b.spool = std::move(*sp);
    return b;
}

Outbox::Outbox(std::filesystem::path state_dir, const Clock& clock, Random& rng)
    : state_dir_(std::move(state_dir)), clock_(clock), rng_(rng) {}

Outbox::~Outbox() = default;

Result<std::unique_ptr<Outbox>> Outbox::open(const std::filesystem::path& state_dir,
                                             const Clock& clock, Random& rng,
                                             OutboxOptions options) {
    std::unique_ptr<Outbox> o(new Outbox(state_dir, clock, rng));
    auto backends = open_backends(state_dir, clock, rng, options.store);
    if (!backends) return std::move(backends).error();
    o->backends_ = std::move(*backends);
    auto rt = std::make_shared<Runtime>(o->store(), clock, rng);
    if (auto r = rt->reload(); !r) return std::move(r).error();
    o->rt_ = std::move(rt);

    Outbox* self = o.get();
    ByProfile::Kinds kinds;
    kinds[settings::Transport::smtp] = std::make_unique<delivery::SmtpTransport>(
        [self](const std::string& p) { return self->endpoint(p); });
    o->transport_ = std::make_unique<ByProfile>(*o, std::move(kinds));
    o->intake_ = std::make_unique<intake::Intake>(o->spool(), *o, clock, rng,
                                                  [self] { self->engine().wake(); });
    delivery::EngineOptions eo;
    eo.config = [self](const std::string& p) { return profile_config(self->config()->profile(p)); };
    eo.sign_in_problem = [self](const std::string& p) { return self->sign_in_problem(p); };
    eo.retention = [self] {
        const auto& g = self->config()->global();
        return spool::Retention{g.history_max_jobs,
                                std::chrono::duration_cast<Duration>(g.history_max_age)};
    };
    eo.on_error = options.on_error ? std::move(options.on_error) : [](const Error& e) {
        std::cerr << "postbridge: " << e.describe() << "\n";
    };
    o->engine_ =
        std::make_unique<delivery::Engine>(o->spool(), *o->transport_, clock, rng, std::move(eo));
    return o;
}

Result<void> Outbox::reload() {
    auto fresh = store().load_settings();
    if (!fresh) return std::move(fresh).error();
    auto cas = store().ca_files();
    std::lock_guard lock(mu_);
    if (fresh->values() == rt_->settings().values() && cas == ca_files_) return {};
    // A new runtime; batches under way keep the old one alive through their
    // endpoints (SmtpEndpoint::keep) until they end.
    auto rt = std::make_shared<Runtime>(store(), clock_, rng_);
    if (auto r = rt->reload(); !r) return std::move(r).error();
    rt_ = std::move(rt);
    ca_files_ = std::move(cas);
    return {};
}

std::shared_ptr<const settings::Config> Outbox::config() {
    std::lock_guard lock(mu_);
    return {rt_, &rt_->config()};
}

delivery::ProfileConfig Outbox::profile_config(const settings::ProfileConfig& config) {
    delivery::ProfileConfig c;
    c.concurrency = config.delivery_concurrency;
    c.rate_limit = config.delivery_rate_limit;
    c.retry.max_age = config.delivery_max_age;
    return c;
}

std::optional<Errc> Outbox::sign_in_problem(const std::string& profile) {
    // Decide on the settings as they are now: serve releases held jobs and
    // resolves each batch's server through here, and a page or a command
    // may have changed them a moment ago (a stale "auth_method off" would
    // release a job held for sign-in and send it to the old server). Cheap
    // when nothing changed; on a read error the settings in hand serve.
    (void)reload();
    std::lock_guard lock(mu_);
    if (rt_->profile(profile).auth_method != settings::AuthMethod::oauth2) return std::nullopt;
    auto st = rt_->status(profile);
    if (!st) return Errc::not_signed_in;
    return oauth::job_code(st->state);
}

Result<SignInStatus> Outbox::status(const std::string& profile) {
    std::lock_guard lock(mu_);
    return rt_->status(profile);
}

Result<std::vector<std::string>> Outbox::profiles() {
    auto users = store().users();
    if (!users) return std::move(users).error();
    std::vector<std::string> names;
    for (const auto& u : *users) names.push_back(u.name);
    return settings::profiles(names);
}

void Outbox::keep_alive(const std::function<void(std::string_view)>& warn) {
    auto names = profiles();
    if (!names) {
        warn(fmt::format("keep-alive: {}", names.error().describe()));
        return;
    }
    const auto now = clock_.now();
    for (const auto& profile : *names) {
        std::shared_ptr<Runtime> rt;
        {
            std::lock_guard lock(mu_);
            rt = rt_;
        }
        if (rt->profile(profile).auth_method != settings::AuthMethod::oauth2) continue;
        Result<SignInStatus> st = [&] {
            std::lock_guard lock(mu_);
            return rt->status(profile);
        }();
        if (!st || st->state != oauth::SignInState::signed_in) continue;
        // Compared with the time now, not the pass's start: an overdue plan
        // says "due at the moment it was made" (next_due is at least the
        // status's own now), which is after the pass began.
        if (st->keepalive.next_due && *st->keepalive.next_due <= clock_.now()) {
            // The refresh itself runs outside the lock: it may take seconds,
            // and delivery must not wait for it.
            oauth::TokenManager* manager = nullptr;
            Result<oauth::Client> client = [&]() -> Result<oauth::Client> {
                std::lock_guard lock(mu_);
                auto m = rt->tokens(profile);
                if (!m) return std::move(m).error();
                manager = *m;
                return rt->oauth_client(profile);
            }();
            const auto interval =
                std::chrono::duration_cast<Duration>(rt->profile(profile).oauth_keepalive_interval);
            if (client && manager) {
                if (auto r = manager->keep_alive(profile, *client, interval); r) {
                    std::lock_guard lock(mu_);
                    if (auto again = rt->status(profile)) st = std::move(again);
                }
            }
        }
        if (!st || !st->keepalive.warning) {
            warned_.erase(profile);
            continue;
        }
        auto last = warned_.find(profile);
        if (oauth::warning_log_due(
                last == warned_.end() ? std::nullopt : std::optional<TimePoint>(last->second),
                now)) {
            warn(fmt::format("{}: {}", profile, *st->keepalive.warning));
            warned_[profile] = now;
        }
    }
}

Result<void> Outbox::check_profile(std::string_view profile) {
    std::lock_guard lock(mu_);
    return rt_->check_profile(profile);
}

Result<delivery::SmtpEndpoint> Outbox::endpoint(const std::string& profile) {
    if (auto p = sign_in_problem(profile))
        return fail(*p, fmt::format("profile {} is not signed in", profile));
    struct Held {
        std::shared_ptr<Runtime> rt;
        std::unique_ptr<ProfileTokenProvider> tokens;
    };
    auto held = std::make_shared<Held>();
    delivery::SmtpEndpoint e;
    {
        std::lock_guard lock(mu_);
        held->rt = rt_;
        auto server = rt_->smtp_server(profile);
        if (!server) return std::move(server).error();
        e.server = std::move(*server);
        auto creds = rt_->credentials(profile, held->tokens);
        if (!creds) return std::move(creds).error();
        e.credentials = std::move(*creds);
    }
    // POP before SMTP: a login per batch, right before its connection, as
    // servers remember it only for minutes. Outside the lock: it is network
    // I/O, and only reads the runtime's fixed settings and the store.
    if (auto pop = held->rt->pop_before_smtp(profile); !pop) return std::move(pop).error();
    e.keep = std::move(held);
    return e;
}

}  // namespace pb::service
