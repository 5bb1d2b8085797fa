// OAuth sign-ins for Web Config over src/oauth (see signin_service.hpp).
//
// One Flow per profile at most: a new start() cancels the one that is out
// (the page and `postbridge signin` both promise that). A device flow keeps
// the profile's pending record as `postbridge signin` does (the driver of
// service/device_sign_in.hpp runs both), so a sign-in started on the page
// and one started on the command line end each other, whichever is newer
// winning. Every touch of the Store goes through `store_mu_`, since the
// flow threads save tokens and records while the pages read the status.
#include "web/signin_service.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "oauth/device_flow.hpp"
#include "oauth/grants.hpp"
#include "oauth/http_curl.hpp"
#include "oauth/pkce.hpp"
#include "oauth/provider.hpp"
#include "oauth/sign_in.hpp"
#include "oauth/token_manager.hpp"
#include "oauth/token_store.hpp"
#include "service/device_sign_in.hpp"
#include "service/pending.hpp"
#include "service/replaced_sign_in.hpp"
#include "service/runtime.hpp"
#include "service/tokens.hpp"
#include "storage/backends.hpp"
#include "store/store.hpp"

namespace pb::web {
namespace {

using State = SignInStatus::State;

// How long start() waits for the identity provider to hand out a code, so
// the page that follows can show it.
constexpr auto kStartTimeout = std::chrono::seconds{30};

State from(oauth::SignInState s) {
    switch (s) {
        case oauth::SignInState::signed_out:
            return State::signed_out;
        case oauth::SignInState::pending:
            return State::pending;
        case oauth::SignInState::signed_in:
            return State::signed_in;
        case oauth::SignInState::expired:
            return State::expired;
        case oauth::SignInState::reauth_required:
            return State::reauth_required;
    }
    return State::signed_out;
}

// The product's token store (service/tokens.hpp), serialised: the flow
// threads save tokens while the pages read the status over one Store.
class LockedTokenStore final : public oauth::TokenStore {
  public:
    LockedTokenStore(store::Store& store, std::mutex& mu) : inner_(store), mu_(mu) {}
    Result<std::optional<oauth::TokenSet>> load(std::string_view profile) override {
        std::lock_guard lock(mu_);
        return inner_.load(profile);
    }
    Result<void> save(std::string_view profile, const oauth::TokenSet& t) override {
        std::lock_guard lock(mu_);
        return inner_.save(profile, t);
    }
    Result<void> remove(std::string_view profile) override {
        std::lock_guard lock(mu_);
        return inner_.remove(profile);
    }
    // Not under mu_: it waits for other processes, and the pages must not.
    Result<std::unique_ptr<Lock>> lock(std::string_view profile) override {
        return inner_.lock(profile);
    }

  private:
    service::SealedTokenStore inner_;
    std::mutex& mu_;
};

// The pending records, serialised with the tokens for the same reason.
class LockedPendingRecords final : public service::PendingRecords {
  public:
    LockedPendingRecords(store::Store& store, std::mutex& mu) : inner_(store), mu_(mu) {}
    Result<void> put(const std::string& profile, const service::PendingSignIn& p) override {
        std::lock_guard lock(mu_);
        return inner_.put(profile, p);
    }
    Result<std::optional<service::PendingSignIn>> get(const std::string& profile) override {
        std::lock_guard lock(mu_);
        return inner_.get(profile);
    }
    void erase(const std::string& profile, const std::string& nonce) override {
        std::lock_guard lock(mu_);
        inner_.erase(profile, nonce);
    }

  private:
    service::StorePendingRecords inner_;
    std::mutex& mu_;
};

class OAuthSignIn final : public SignInService {
  public:
    OAuthSignIn(std::filesystem::path dir, const Clock& clock,
                std::function<void(std::string_view)> log)
        : dir_(std::move(dir)), clock_(clock), log_(std::move(log)) {}

    Result<void> open(const store::Options& options) {
        auto store = storage::open_store(dir_, rng_, clock_, options);
        if (!store) return std::move(store).error();
        store_ = std::move(*store);
        tokens_.emplace(*store_, store_mu_);
        records_.emplace(*store_, store_mu_);
        return {};
    }

    ~OAuthSignIn() override {
        std::map<std::string, std::unique_ptr<Flow>, std::less<>> flows;
        {
            std::lock_guard lock(mu_);
            flows.swap(flows_);
        }
        for (auto& [p, f] : flows) f->stop();
    }

    Result<SignInStatus> start(std::string_view profile) override {
        cancel(profile);
        auto prepared = prepare(profile);
        if (!prepared) return std::move(prepared).error();
        // An application signs in with its secret alone: the token is
        // fetched now, so a wrong secret shows here, not at the first job.
        if (prepared->client.grant == oauth::Grant::client_credentials) {
            // A new one, even while the old is good: the secret may be new.
            if (auto r = tokens_->remove(profile); !r) return std::move(r).error();
            oauth::TokenManager manager(*prepared->http, *tokens_, clock_);
            auto token = manager.access_token(profile, prepared->client);
            if (!token) return std::move(token).error();
            log_(fmt::format("web: profile {} got its app token", profile));
            SignInStatus s;
            s.state = State::signed_in;
            s.app_only = true;
            s.account = token->account;
            return s;
        }
        auto flow = std::make_unique<Flow>(clock_);
        flow->http = std::move(prepared->http);
        flow->client = std::move(prepared->client);
        Flow& f = *flow;
        {
            std::lock_guard lock(mu_);
            f.status.state = State::pending;
            if (f.client.grant == oauth::Grant::authorization_code) {
                auto req = oauth::begin_authorization(f.client, rng_);
                if (!req) return std::move(req).error();
                f.status.authorize_url = req->url;
                f.authorization = std::move(*req);
                flows_[std::string(profile)] = std::move(flow);
                return f.status;
            }
            flows_[std::string(profile)] = std::move(flow);
        }
        f.thread = std::thread([this, &f, p = std::string(profile)] { run_device(p, f); });
        std::unique_lock lock(mu_);
        f.changed.wait_for(lock, kStartTimeout, [&] {
            return !f.status.user_code.empty() || f.status.state != State::pending;
        });
        if (f.status.state != State::pending) return fail(Errc::not_signed_in, f.status.reason);
        return f.status;
    }

    SignInStatus status(std::string_view profile) override {
        {
            std::lock_guard lock(mu_);
            const auto it = flows_.find(profile);
            if (it != flows_.end() &&
                (it->second->status.state == State::pending || !it->second->status.reason.empty()))
                return it->second->status;
        }
        SignInStatus s;
        auto stored = tokens_->load(profile);
        std::lock_guard lock(store_mu_);
        auto loaded = store_->load_settings();
        // A sign-in left from another service is not shown as this one's.
        if (stored && *stored && loaded &&
            !service::belongs_to(**stored, loaded->profile_config(profile)))
            stored->reset();
        if (!stored) {
            s.reason = stored.error().detail;
        } else if (*stored) {
            s.state = from((*stored)->state);
            s.account = (*stored)->account;
            s.reason = (*stored)->state_reason;
        }
        if (loaded) {
            const auto cfg = loaded->profile_config(profile);
            s.app_only = cfg.oauth_grant == settings::Grant::client_credentials;
            if (stored && *stored) {
                const auto plan = service::keepalive_plan_of(cfg, **stored, clock_.now());
                if (plan.warning) s.warning = *plan.warning;
            }
        }
        return s;
    }

    Result<SignInStatus> finish(std::string_view profile, std::string_view redirect_url) override {
        Flow* f = nullptr;
        {
            std::lock_guard lock(mu_);
            const auto it = flows_.find(profile);
            if (it == flows_.end() || !it->second->authorization)
                return fail(Errc::invalid_input,
                            "No sign-in is waiting for a redirect URL: click Sign In first.");
            f = it->second.get();
        }
        auto code = oauth::read_redirect(f->client, redirect_url, f->authorization->state);
        if (!code) return finish_failed(profile, *f, code.error());
        auto tokens = oauth::exchange_code(*f->http, f->client, *code, f->authorization->verifier,
                                           clock_.now());
        if (!tokens) return finish_failed(profile, *f, tokens.error());
        if (auto who = service::check_signed_in_account(*tokens, expected_account(profile)); !who)
            return finish_failed(profile, *f, who.error());
        oauth::TokenManager manager(*f->http, *tokens_, clock_);
        auto access = manager.complete_sign_in(profile, f->client, std::move(*tokens));
        if (!access) return finish_failed(profile, *f, access.error());
        log_(fmt::format("web: profile {} signed in", profile));
        std::lock_guard lock(mu_);
        flows_.erase(std::string(profile));
        SignInStatus s;
        s.state = State::signed_in;
        s.account = access->account;
        return s;
    }

    Result<void> sign_out(std::string_view profile) override {
        cancel(profile);
        // As `postbridge signout`: a sign-in still out for the profile,
        // wherever it was started, ends too.
        {
            std::lock_guard lock(store_mu_);
            service::erase_pending(*store_, std::string(profile));
        }
        auto prepared = prepare(profile);
        if (!prepared)
            return tokens_->remove(profile);  // cannot reach the provider: forget locally
        oauth::TokenManager manager(*prepared->http, *tokens_, clock_);
        auto report = manager.sign_out(profile, prepared->client);
        if (!report) return std::move(report).error();
        if (report->revoke_error)
            log_(fmt::format("web: sign-out of {}: the provider could not be told: {}", profile,
                             report->revoke_error->detail));
        return {};
    }

    Result<SignInStatus> decoy(std::string_view profile) override {
        auto prepared = prepare(profile);
        if (!prepared) return std::move(prepared).error();
        if (prepared->client.grant != oauth::Grant::device)
            return fail(Errc::identity_provider_config, "this profile does not use device codes");
        oauth::DeviceFlow flow(prepared->client);
        const auto step = flow.next(clock_.now());
        if (step.kind != oauth::DeviceFlow::Step::Kind::send)
            return fail(Errc::identity_provider_unavailable, flow.message());
        flow.on_answer(oauth::send_to_identity_provider(*prepared->http, step.request),
                       clock_.now());
        if (!flow.authorization()) return flow.error().value_or(Error{Errc::not_signed_in, ""});
        const auto& a = *flow.authorization();
        SignInStatus s;
        s.state = State::pending;
        s.user_code = a.user_code;
        s.verification_uri = a.verification_uri;
        s.verification_uri_complete = a.verification_uri_complete;
        s.expires_at = a.expires_at;
        return s;
    }

    std::vector<std::string> end_replaced(const settings::Settings& before) override {
        std::vector<std::string> profiles = {"email", "fax"};
        settings::Settings after;
        {
            std::lock_guard lock(store_mu_);
            auto now = store_->load_settings();
            if (!now) return {"The old sign-ins could not be checked: " + now.error().detail};
            after = std::move(*now);
            if (auto users = store_->users())
                for (const auto& u : *users) profiles.push_back("user:" + u.name);
        }
        std::vector<std::string> said;
        for (const auto& profile : service::replaced_sign_ins(before, after, profiles)) {
            cancel(profile);
            // The Store is thread-safe on its own; tokens_ takes store_mu_
            // for each of its calls.
            auto ended = service::end_sign_in(*store_, *tokens_, before, profile, clock_);
            if (!ended) {
                said.push_back(fmt::format("The sign-in of profile {} could not be ended: {}",
                                           profile, ended.error().detail));
            } else if (*ended) {
                said.push_back(service::describe(**ended));
                log_("web: " + said.back());
            }
        }
        return said;
    }

  private:
    struct Flow {
        explicit Flow(const Clock& clock) : waiter(clock) {}
        std::unique_ptr<oauth::HttpClient> http;
        oauth::Client client;
        oauth::CancellableWaiter waiter;
        std::optional<oauth::AuthorizationRequest> authorization;
        SignInStatus status;  // guarded by OAuthSignIn::mu_
        std::condition_variable changed;
        std::thread thread;

        void stop() {
            waiter.cancel();
            if (thread.joinable()) thread.join();
        }
    };

    struct Prepared {
        std::unique_ptr<oauth::HttpClient> http;
        oauth::Client client;
    };

    // The OAuth client the profile's saved settings describe (the same
    // reading as the command line's: service/runtime.hpp).
    Result<Prepared> prepare(std::string_view profile) {
        std::unique_lock lock(store_mu_);
        auto loaded = store_->load_settings();
        if (!loaded) return std::move(loaded).error();
        const auto s = loaded->profile_config(profile);
        if (s.auth_method != settings::AuthMethod::oauth2)
            return fail(Errc::invalid_input,
                        "Select OAuth2 as Authentication Method and click OK first.");
        auto http = oauth::CurlHttpClient::create(service::curl_options(s, *store_));
        lock.unlock();
        if (!http) return std::move(http).error();
        Prepared p{std::move(*http), {}};
        auto provider = service::provider_for(s, profile, *p.http);
        if (!provider) return std::move(provider).error();
        lock.lock();
        auto client = service::client_for(s, *store_, profile, std::move(*provider));
        if (!client) return std::move(client).error();
        p.client = std::move(*client);
        return p;
    }

    // A user's registered address, which their sign-in must be.
    std::string expected_account(std::string_view profile) {
        std::lock_guard lock(store_mu_);
        return service::registered_address(*store_, profile);
    }

    void run_device(const std::string& profile, Flow& f) {
        service::DeviceSignInEvents events;
        events.code_shown = [&](const oauth::DeviceFlow& d) {
            std::lock_guard lock(mu_);
            const auto& a = *d.authorization();
            f.status.user_code = a.user_code;
            f.status.verification_uri = a.verification_uri;
            f.status.verification_uri_complete = a.verification_uri_complete;
            f.status.expires_at = a.expires_at;
            f.changed.notify_all();
        };
        const auto out = service::start_device_sign_in(
            profile, f.client, service::DeviceSignInMode::wait, rng_,
            {*f.http, clock_, f.waiter, *records_, *tokens_, expected_account(profile)}, events);
        std::lock_guard lock(mu_);
        using End = service::DeviceSignInOutcome::End;
        switch (out.end) {
            case End::signed_in:
                f.status = SignInStatus{};
                f.status.state = State::signed_in;
                f.status.account = out.account;
                log_(fmt::format("web: profile {} signed in", profile));
                break;
            case End::failed:
                f.status = SignInStatus{};
                note_failure(profile, f, *out.error);
                break;
            case End::replaced:
                // The newer sign-in (here or on the command line) is the
                // profile's now: status() shows the stored state again.
                f.status = SignInStatus{};
                break;
            case End::stopped:  // by a new start() or sign_out(), which say what follows
            case End::handed_over:
                break;
        }
        f.changed.notify_all();
    }

    Result<SignInStatus> finish_failed(std::string_view profile, Flow& f, const Error& e) {
        std::lock_guard lock(mu_);
        note_failure(profile, f, e);
        return e;
    }

    // The caller holds mu_.
    void note_failure(std::string_view profile, Flow& f, const Error& e) {
        f.status.reason = e.detail.empty() ? std::string(e.info().status) : e.detail;
        log_(fmt::format("web: sign-in of {} failed: {}", profile, f.status.reason));
    }

    void cancel(std::string_view profile) {
        std::unique_ptr<Flow> old;
        {
            std::lock_guard lock(mu_);
            const auto it = flows_.find(profile);
            if (it == flows_.end()) return;
            old = std::move(it->second);
            flows_.erase(it);
        }
        old->stop();
    }

    std::filesystem::path dir_;
    const Clock& clock_;
    SystemRandom rng_;  // before store_, which keeps a reference to it
    std::function<void(std::string_view)> log_;
    std::unique_ptr<store::Store> store_;
    std::mutex store_mu_;
    std::optional<LockedTokenStore> tokens_;
    std::optional<LockedPendingRecords> records_;

    std::mutex mu_;  // guards flows_ and every Flow::status
    std::map<std::string, std::unique_ptr<Flow>, std::less<>> flows_;
};

}  // namespace

Result<std::unique_ptr<SignInService>> make_signin_service(
    const std::filesystem::path& state_dir, const store::Options& options, const Clock& clock,
    std::function<void(std::string_view)> log) {
    auto service = std::make_unique<OAuthSignIn>(state_dir, clock, std::move(log));
    if (auto r = service->open(options); !r) return std::move(r).error();
    return std::unique_ptr<SignInService>(std::move(service));
}

}  // namespace pb::web
