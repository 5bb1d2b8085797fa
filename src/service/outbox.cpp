#include "service/outbox.hpp"

#include <iostream>

#include <fmt/format.h>

#include "core/log.hpp"
#include "oauth/token.hpp"
#include "oauth/token_manager.hpp"
#include "oauth/url.hpp"
#include "service/transport_choice.hpp"
#include "storage/backends.hpp"

namespace pb::service {
namespace {

// The Graph token of a profile from its token manager (a resource of its
// own beside the SMTP token, oauth/token_manager.hpp).
class GraphTokens final : public graph::Tokens {
  public:
    GraphTokens(oauth::TokenManager& m, oauth::Client c, std::string profile,
                oauth::Resource resource, Duration margin)
        : m_(m),
          c_(std::move(c)),
          profile_(std::move(profile)),
          resource_(std::move(resource)),
          margin_(margin) {}
    Result<Secret> token() override {
        auto t = m_.access_token(profile_, c_, resource_, margin_);
        if (!t) return std::move(t).error();
        return t->token;
    }
    Result<Secret> after_rejection(const Secret& rejected) override {
        auto t = m_.refresh_rejected(profile_, c_, resource_, rejected);
        if (!t) return std::move(t).error();
        return t->token;
    }

  private:
    oauth::TokenManager& m_;
    oauth::Client c_;
    std::string profile_;
    oauth::Resource resource_;
    Duration margin_;
};

// transport auto: SMTP until the server says SMTP AUTH is off for the
// mailbox or tenant (621, 5.7.139); then those messages go over Graph at
// once, and the profile's later batches too (Outbox remembers it).
class AutoTransport final : public delivery::Transport {
  public:
    AutoTransport(Outbox& outbox, delivery::Transport& smtp, delivery::Transport& graph)
        : outbox_(outbox), smtp_(smtp), graph_(graph) {}

    delivery::BatchOutcome send(const std::string& profile,
                                std::span<delivery::OutgoingMessage> messages,
                                const Done& done) override {
        if (outbox_.transport_in_effect(profile) == settings::Transport::graph)
            return graph_.send(profile, messages, done);
        auto off = [](const delivery::MessageOutcome& o) {
            return o.error && o.error->code == Errc::smtp_auth_disabled;
        };
        // A 621 is not handed on: the message is about to go over Graph.
        Done pass;
        if (done)
            pass = [&](std::size_t i, const delivery::MessageOutcome& o) {
                if (!off(o)) done(i, o);
            };
        delivery::BatchOutcome out = smtp_.send(profile, messages, pass);
        std::vector<std::size_t> again;
        for (std::size_t i = 0; i < out.messages.size(); ++i)
            if (off(out.messages[i])) again.push_back(i);
        if (again.empty()) return out;
        outbox_.remember_smtp_auth_off(profile);
        std::vector<delivery::OutgoingMessage> retry;
        for (std::size_t i : again) retry.push_back(messages[i]);
        Done mapped;
        if (done)
            mapped = [&](std::size_t k, const delivery::MessageOutcome& o) { done(again[k], o); };
        delivery::BatchOutcome g = graph_.send(profile, retry, mapped);
        for (std::size_t k = 0; k < again.size() && k < g.messages.size(); ++k)
            out.messages[again[k]] = std::move(g.messages[k]);
        out.transcript +=
            "SMTP AUTH is off for this mailbox (5.7.139): sent over Microsoft "
            "Graph instead\n" +
            g.transcript;
        return out;
    }
    void tidy() override {
        smtp_.tidy();
        graph_.tidy();
    }

  private:
    Outbox& outbox_;
    delivery::Transport& smtp_;
    delivery::Transport& graph_;
};

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
    auto st = storage::open_store(state_dir, rng, clock, options);
    if (!st) return std::move(st).error();
    b.store = std::move(*st);
    b.file_ops = std::make_unique<spool::PosixFileOps>();
    auto sp = storage::open_spool(state_dir, *b.file_ops, clock, rng);
    if (!sp) return std::move(sp).error();
    b.spool = std::move(*sp);
    return b;
}

Outbox::Outbox(std::filesystem::path state_dir, const Clock& clock, Random& rng)
    : state_dir_(std::move(state_dir)), clock_(clock), rng_(rng) {}

Outbox::~Outbox() {
    if (backends_.spool) backends_.spool->set_reporter(nullptr);
}

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
    auto log = options.log ? std::move(options.log) : log::at(log::Level::info);
    o->reporter_ = std::make_unique<relay::DsnReporter>([self] { return self->config(); },
                                                        relay::reporting_host(), clock, log);
    o->spool().set_reporter(o->reporter_.get());
    ByProfile::Kinds kinds;
    kinds[settings::Transport::smtp] = std::make_unique<delivery::SmtpTransport>(
        [self](const std::string& p) { return self->endpoint(p); });
    kinds[settings::Transport::graph] = std::make_unique<delivery::GraphTransport>(
        [self](const std::string& p) { return self->graph_endpoint(p); }, clock,
        [&clock](std::chrono::seconds s) {
            delivery::ClockWaiter(clock).wait_until(clock.now() + s, {});
        },
        state_dir / "graph-drafts");
    kinds[settings::Transport::auto_] = std::make_unique<AutoTransport>(
        *o, *kinds[settings::Transport::smtp], *kinds[settings::Transport::graph]);
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
    o->delivery_log_ = std::make_unique<observe::DeliveryLog>(clock, log);
    o->observers_.add(o->delivery_log_.get());
    o->observers_.add(options.observer);
    eo.observer = &o->observers_;
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
    const auto& cfg = rt_->profile(profile);
    if (cfg.auth_method != settings::AuthMethod::oauth2) return std::nullopt;
    auto st = rt_->status(profile);
    if (!st) return Errc::not_signed_in;
    // An application (client credentials) has no sign-in to wait for: it
    // proves itself with its secret at every token request, so no token
    // stored yet is no reason to hold its jobs (a relay on app-only Graph
    // runs with no sign-in at all). A refused request says what is wrong.
    if (cfg.oauth_grant == settings::Grant::client_credentials &&
        st->state == oauth::SignInState::signed_out)
        return std::nullopt;
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
                    log::write(log::Level::info,
                               fmt::format("keep-alive: {} refreshed an unused sign-in", profile));
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

Result<delivery::GraphEndpoint> Outbox::graph_endpoint(const std::string& profile) {
    if (auto p = sign_in_problem(profile))
        return fail(*p, fmt::format("profile {} is not signed in", profile));
    auto held = std::make_shared<std::shared_ptr<Runtime>>();
    delivery::GraphEndpoint e;
    std::lock_guard lock(mu_);
    *held = rt_;
    const auto& cfg = rt_->profile(profile);
    if (cfg.auth_method != settings::AuthMethod::oauth2)
        return fail(
            Errc::invalid_input,
            fmt::format("{}: Microsoft Graph needs auth_method oauth2 (a Graph token)", profile));
    auto http = rt_->http(profile);
    if (!http) return std::move(http).error();
    auto manager = rt_->tokens(profile);
    if (!manager) return std::move(manager).error();
    auto client = rt_->oauth_client(profile);
    if (!client) return std::move(client).error();
    oauth::Resource graph{"graph", cfg.graph_scopes, cfg.graph_resource};
    if (graph.scope.empty() && client->grant == oauth::Grant::client_credentials) {
        // An application asks for the .default scope of the resource.
        auto u = oauth::parse_url(cfg.graph_endpoint);
        if (u)
            graph.scope =
                u->scheme + "://" + u->host + (u->port.empty() ? "" : ":" + u->port) + "/.default";
    }
    if (graph.scope.empty())
        return fail(Errc::invalid_input,
                    fmt::format("{}: no Graph scopes: set {}.graph.scopes", profile, profile));
    e.options.endpoint = cfg.graph_endpoint;
    e.options.mailbox = cfg.account.empty() ? cfg.sender : cfg.account;
    if (e.options.mailbox.empty())
        return fail(Errc::invalid_input,
                    fmt::format("{}: no sender: set {}.sender", profile, profile));
    e.tokens = std::make_shared<GraphTokens>(**manager, std::move(*client), profile,
                                             std::move(graph), rt_->refresh_margin(profile));
    // The HTTP client lives in the runtime that `keep` holds.
    e.http = std::shared_ptr<oauth::HttpClient>(held, *http);
    e.keep = held;
    return e;
}

settings::Transport Outbox::transport_in_effect(const std::string& profile) {
    std::lock_guard lock(mu_);
    return service::transport_in_effect(*rt_, profile);
}

void Outbox::remember_smtp_auth_off(const std::string& profile) {
    std::lock_guard lock(mu_);
    service::remember_smtp_auth_off(*rt_, profile);
}

}  // namespace pb::service
