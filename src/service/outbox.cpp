#include "service/outbox.hpp"

#include <iostream>

#include <fmt/format.h>

#include "oauth/token.hpp"

namespace pb::service {

Outbox::Outbox(std::filesystem::path state_dir, const Clock& clock, Random& rng)
    : state_dir_(std::move(state_dir)), clock_(clock), rng_(rng) {}

Outbox::~Outbox() = default;

Result<std::unique_ptr<Outbox>> Outbox::open(const std::filesystem::path& state_dir,
                                             const Clock& clock, Random& rng,
                                             OutboxOptions options) {
    std::unique_ptr<Outbox> o(new Outbox(state_dir, clock, rng));
    auto st = store::Store::open(state_dir, rng, clock, options.store);
    if (!st) return std::move(st).error();
    o->store_ = std::move(*st);
    auto rt = std::make_shared<Runtime>(*o->store_, clock, rng);
    if (auto r = rt->reload(); !r) return std::move(r).error();
    o->rt_ = std::move(rt);
    auto sp = spool::Spool::open(state_dir, o->ops_, clock, rng);
    if (!sp) return std::move(sp).error();
    o->spool_ = std::move(*sp);

    Outbox* self = o.get();
    o->transport_ = std::make_unique<delivery::SmtpTransport>(
        [self](const std::string& p) { return self->endpoint(p); });
    delivery::EngineOptions eo;
    eo.config = [self](const std::string& p) { return profile_config(self->settings(), p); };
    eo.sign_in_problem = [self](const std::string& p) { return self->sign_in_problem(p); };
    eo.retention = [self] {
        const auto s = self->settings();
        return spool::Retention{
            s.get_int("", "history.max_jobs"),
            std::chrono::duration_cast<Duration>(s.get_duration("", "history.max_age"))};
    };
    eo.on_error = options.on_error ? std::move(options.on_error) : [](const Error& e) {
        std::cerr << "postbridge: " << e.describe() << "\n";
    };
    o->engine_ =
        std::make_unique<delivery::Engine>(*o->spool_, *o->transport_, clock, rng, std::move(eo));
    return o;
}

Result<void> Outbox::reload() {
    auto fresh = store_->load_settings();
    if (!fresh) return std::move(fresh).error();
    auto cas = store_->ca_files();
    std::lock_guard lock(mu_);
    if (fresh->values() == rt_->settings().values() && cas == ca_files_) return {};
    // A new runtime; batches under way keep the old one alive through their
    // endpoints (SmtpEndpoint::keep) until they end.
    auto rt = std::make_shared<Runtime>(*store_, clock_, rng_);
    if (auto r = rt->reload(); !r) return std::move(r).error();
    rt_ = std::move(rt);
    ca_files_ = std::move(cas);
    return {};
}

settings::Settings Outbox::settings() {
    std::lock_guard lock(mu_);
    return rt_->settings();
}

delivery::ProfileConfig Outbox::profile_config(const settings::Settings& s,
                                               const std::string& profile) {
    delivery::ProfileConfig c;
    c.concurrency = static_cast<int>(s.get_int(profile, "delivery.concurrency"));
    c.rate_limit = static_cast<int>(s.get_int(profile, "delivery.rate_limit"));
    c.retry.max_age = s.get_duration(profile, "delivery.max_age");
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
    if (rt_->settings().get(profile, "auth_method") != "oauth2") return std::nullopt;
    auto st = rt_->status(profile);
    if (!st) return Errc::not_signed_in;
    return oauth::job_code(st->state);
}

Result<SignInStatus> Outbox::status(const std::string& profile) {
    std::lock_guard lock(mu_);
    return rt_->status(profile);
}

Result<std::vector<std::string>> Outbox::profiles() {
    auto users = store_->users();
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
        if (rt->settings().get(profile, "auth_method") != "oauth2") continue;
        Result<SignInStatus> st = [&] {
            std::lock_guard lock(mu_);
            return rt->status(profile);
        }();
        if (!st || st->state != oauth::SignInState::signed_in) continue;
        if (st->keepalive.next_due && *st->keepalive.next_due <= now) {
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
            const auto interval = std::chrono::duration_cast<Duration>(
                rt->settings().get_duration(profile, "oauth.keepalive_interval"));
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

Result<Accepted> Outbox::submit(spool::Submission sub, ByteSource& body) {
    {
        std::lock_guard lock(mu_);
        if (auto r = rt_->check_profile(sub.profile); !r) return std::move(r).error();
    }
    Accepted a;
    if (auto problem = sign_in_problem(sub.profile)) {
        if (!settings().get_bool(sub.profile, "hold_when_signed_out"))
            return fail(*problem, std::string(kSignInMessage));
        sub.held = *problem;
        a.held = *problem;
    }
    auto id = spool_->accept(sub, body);
    if (!id) return std::move(id).error();
    a.id = *id;
    return a;
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
