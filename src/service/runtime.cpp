#include "service/runtime.hpp"

#include <fmt/format.h>

#include "pop3/client.hpp"
#include "service/replaced_sign_in.hpp"

namespace pb::service {
namespace {

Error config_error(std::string_view profile, std::string_view what) {
    return fail(Errc::identity_provider_config, fmt::format("{}: {}", profile, what));
}

}  // namespace

std::string_view current_status_label(oauth::SignInState s, settings::Grant grant) noexcept {
    if (grant == settings::Grant::client_credentials && s == oauth::SignInState::signed_out)
        return "App-only (signs in by itself when it sends)";
    if (grant == settings::Grant::client_credentials && s == oauth::SignInState::signed_in)
        return "Signed in (app)";
    switch (s) {
        case oauth::SignInState::signed_in:
            return "Signed in";
        case oauth::SignInState::signed_out:
            return "Signed out";
        case oauth::SignInState::pending:
            return "Signed out (sign-in pending)";
        case oauth::SignInState::expired:
            return "Signed out (the sign-in expired)";
        case oauth::SignInState::reauth_required:
            return "Signed out (sign in again)";
    }
    return "";
}

std::string rfc3339_or_empty(std::optional<TimePoint> t) {
    return t && t->time_since_epoch().count() > 0 ? format_rfc3339(*t) : "";
}

nlohmann::json status_json(const settings::Config& config, const std::string& profile,
                           const SignInStatus& st, oauth::SignInState shown) {
    auto warnings = config.settings().warnings(profile);
    if (st.keepalive.warning) warnings.push_back(*st.keepalive.warning);
    const auto& p = config.profile(profile);
    nlohmann::json j = {{"name", profile},
                        {"auth_method", settings::to_string(p.auth_method)},
                        {"service", settings::to_string(p.service)},
                        {"status", oauth::to_string(shown)}};
    if (p.oauth_grant == settings::Grant::client_credentials) j["app_only"] = true;
    if (!st.account.empty()) j["account"] = st.account;
    if (!st.reason.empty()) j["reason"] = st.reason;
    if (auto v = rfc3339_or_empty(st.access_expires_at); !v.empty())
        j["access_token_expires_at"] = v;
    if (auto v = rfc3339_or_empty(st.last_refresh); !v.empty()) j["last_refresh_at"] = v;
    if (auto v = rfc3339_or_empty(st.keepalive.next_due); !v.empty()) j["keepalive_due_at"] = v;
    if (!warnings.empty()) j["warnings"] = warnings;
    return j;
}

Result<Secret> ProfileTokenProvider::access_token(bool forced) {
    auto t = forced && !last_.empty() ? manager_.refresh_rejected(profile_, client_, last_)
                                      : manager_.access_token(profile_, client_, margin_);
    if (!t) return std::move(t).error();
    last_ = t->token;
    account_ = t->account;
    return t->token;
}

Runtime::Runtime(store::Store& store, const Clock& clock, Random& rng)
    : store_(store), clock_(clock), rng_(rng), token_store_(store) {}

Result<void> Runtime::reload() {
    auto s = store_.load_settings();
    if (!s) return std::move(s).error();
    config_ = settings::Config(std::move(*s));
    profiles_.clear();
    return {};
}

Result<void> Runtime::check_profile(std::string_view profile) {
    if (profile == "email" || profile == "fax") return {};
    if (profile.starts_with("user:")) {
        auto users = store_.users();
        if (!users) return std::move(users).error();
        for (const auto& u : *users)
            if (profile.substr(5) == u.name) return {};
        return fail(
            Errc::invalid_input,
            fmt::format("no user '{}' is registered (postbridge users add {} --email ADDRESS)",
                        profile.substr(5), profile.substr(5)));
    }
    return fail(Errc::invalid_input,
                fmt::format("'{}' is not a profile: use email, fax or user:NAME", profile));
}

Result<Runtime::PerProfile*> Runtime::slot(std::string_view profile) {
    if (auto it = profiles_.find(profile); it != profiles_.end()) return &it->second;
    auto http = oauth::CurlHttpClient::create(curl_options(config_.profile(profile), store_));
    if (!http) return std::move(http).error();
    PerProfile p;
    p.http = std::move(*http);
    p.manager = std::make_unique<oauth::TokenManager>(*p.http, token_store_, clock_);
    return &profiles_.emplace(std::string(profile), std::move(p)).first->second;
}

Result<oauth::HttpClient*> Runtime::http(std::string_view profile) {
    auto s = slot(profile);
    if (!s) return std::move(s).error();
    return static_cast<oauth::HttpClient*>((*s)->http.get());
}

Result<oauth::TokenManager*> Runtime::tokens(std::string_view profile) {
    auto s = slot(profile);
    if (!s) return std::move(s).error();
    return (*s)->manager.get();
}

Duration Runtime::refresh_margin(std::string_view profile) const {
    return std::chrono::duration_cast<Duration>(config_.profile(profile).oauth_refresh_margin);
}

oauth::CurlOptions curl_options(const settings::ProfileConfig& config, store::Store& store) {
    oauth::CurlOptions opts;
    opts.proxy_url = config.proxy_url;
    opts.extra_ca_files = store.ca_files();
    return opts;
}

Result<oauth::Provider> provider_for(const settings::ProfileConfig& config,
                                     std::string_view profile, oauth::HttpClient& http) {
    const std::string_view service_name = settings::to_string(config.service);
    auto service = oauth::parse_service(service_name);
    if (!service) return config_error(profile, fmt::format("unknown service {}", service_name));
    if (*service != oauth::Service::custom)
        return oauth::builtin_provider(*service, config.oauth_tenant, config.oauth_authority);
    const std::string& issuer = config.oauth_issuer;
    if (issuer.empty())
        return config_error(profile,
                            fmt::format("the custom service needs the OAuth server's issuer "
                                        "URL: set {}.oauth.issuer",
                                        profile));
    return oauth::discover(http, issuer);
}

Result<oauth::Client> client_for(const settings::ProfileConfig& config, store::Store& store,
                                 std::string_view profile, oauth::Provider provider) {
    oauth::Client c;
    c.provider = std::move(provider);
    c.client_id = config.oauth_client_id;
    if (c.client_id.empty())
        return config_error(profile, fmt::format("no client id: set {}.oauth.client_id to the app "
                                                 "registration's id",
                                                 profile));
    c.grant =
        oauth::parse_grant(settings::to_string(config.oauth_grant)).value_or(oauth::Grant::device);
    c.scope = config.oauth_scopes;
    // Graph's scopes are consented at the same sign-in, so that a switch to
    // Graph (transport auto) needs no new one.
    if (config.transport != settings::Transport::smtp) c.consent_scope = config.graph_scopes;
    c.redirect_uri = config.oauth_redirect_uri;
    // A user profile signs in with the email profile's app registration,
    // secret included, unless it has its own.
    std::string owner(profile);
    if (profile.starts_with("user:") && !store.has_secret(owner + ".oauth.client_secret"))
        owner = "email";
    auto secret = store.get_sealed("setting:" + owner + ".oauth.client_secret");
    if (!secret) return std::move(secret).error();
    if (*secret) c.client_secret = std::move(**secret);
    if (c.grant == oauth::Grant::client_credentials && c.client_secret.empty())
        return config_error(profile,
                            fmt::format("the client-credentials grant needs a client secret: "
                                        "set {}.oauth.client_secret -",
                                        profile));
    return c;
}

Result<oauth::Client> Runtime::oauth_client(std::string_view profile) {
    auto s = slot(profile);
    if (!s) return std::move(s).error();
    if (!(*s)->provider) {
        auto p = provider_for(config_.profile(profile), profile, *(*s)->http);
        if (!p) return std::move(p).error();
        (*s)->provider = std::move(*p);
    }
    return client_for(config_.profile(profile), store_, profile, *(*s)->provider);
}

Result<smtp::ServerConfig> Runtime::smtp_server(std::string_view profile) {
    const auto& config = config_.profile(profile);
    smtp::ServerConfig s;
    s.host = config.smtp_host;
    if (s.host.empty())
        return fail(Errc::invalid_input,
                    fmt::format("{}: no SMTP Server Address: set {}.smtp.host", profile, profile));
    s.port = config.smtp_port;
    switch (config.smtp_security) {
        case settings::Security::none:
            s.security = smtp::Security::none;
            break;
        case settings::Security::ssl_tls:
            s.security = smtp::Security::ssl_tls;
            break;
        case settings::Security::starttls:
            s.security = smtp::Security::starttls;
            break;
    }
    s.tls.verify = config.smtp_verify_cert;
    s.allow_plaintext_auth = config.smtp_allow_plaintext_auth;
    if (config.smtp_timeout.count() > 0) s.timeout_limit = config.smtp_timeout;
    for (const auto& f : store_.ca_files()) s.tls.ca_files.push_back(f.string());
    return s;
}

Result<smtp::Credentials> Runtime::credentials(std::string_view profile,
                                               std::unique_ptr<ProfileTokenProvider>& holder) {
    smtp::Credentials c;
    const auto& config = config_.profile(profile);
    c.user = config.account;
    switch (config.auth_method) {
        case settings::AuthMethod::off:
        // POP before SMTP: the POP3 login (pop_before_smtp()) is what
        // authorises the client; the SMTP side then sends without AUTH.
        case settings::AuthMethod::pop_before_smtp:
            c.method = smtp::AuthMethod::off;
            return c;
        case settings::AuthMethod::smtp_auth: {
            c.method = smtp::AuthMethod::smtp_auth;
            auto pw = password(profile, "SMTP AUTH");
            if (!pw) return std::move(pw).error();
            c.password = std::move(*pw);
            return c;
        }
        case settings::AuthMethod::oauth2:
            break;
    }
    auto client = oauth_client(profile);
    if (!client) return std::move(client).error();
    auto manager = tokens(profile);
    if (!manager) return std::move(manager).error();
    holder = std::make_unique<ProfileTokenProvider>(**manager, std::move(*client),
                                                    std::string(profile), refresh_margin(profile));
    c.method = smtp::AuthMethod::oauth2;
    c.tokens = holder.get();
    if (c.user.empty()) {
        // The XOAUTH2 user is the signed-in account unless `account` names
        // a shared mailbox.
        auto st = token_store_.load(profile);
        if (st && *st) c.user = (*st)->account;
    }
    // An application's token names no user: it sends as the mailbox of the
    // sender address (Exchange wants that mailbox in XOAUTH2's user=).
    if (c.user.empty()) c.user = config.sender;
    return c;
}

Result<Secret> Runtime::password(std::string_view profile, std::string_view what) {
    auto pw = store_.get_sealed("setting:" + std::string(profile) + ".password");
    // A user profile without its own password uses email's.
    if (pw && !*pw && profile.starts_with("user:"))
        pw = store_.get_sealed("setting:email.password");
    if (!pw) return std::move(pw).error();
    if (!*pw)
        return fail(Errc::invalid_input,
                    fmt::format("{}: {} needs the Authenticated Password: set {}.password -",
                                profile, what, profile));
    return std::move(**pw);
}

Result<void> Runtime::pop_before_smtp(std::string_view profile) {
    const auto& config = config_.profile(profile);
    if (config.auth_method != settings::AuthMethod::pop_before_smtp) return {};
    auto pw = password(profile, "POP before SMTP");
    if (!pw) return std::move(pw).error();
    std::vector<std::string> cas;
    for (const auto& f : store_.ca_files()) cas.push_back(f.string());
    auto cfg = pop3::pop3_config(config, profile, std::move(*pw), cas);
    if (!cfg) return std::move(cfg).error();
    return pop3::login(*cfg);
}

Result<SignInStatus> Runtime::status(std::string_view profile) {
    SignInStatus s;
    auto t = token_store_.load(profile);
    if (!t) return std::move(t).error();
    if (!*t || !belongs_to(**t, config_.profile(profile))) return s;
    const oauth::TokenSet& set = **t;
    s.state = set.state;
    s.reason = set.state_reason;
    s.service = set.service;
    s.account = set.account;
    s.access_expires_at = set.access_expires_at;
    s.last_refresh = set.last_refresh;
    s.signed_in_at = set.signed_in_at;
    s.keepalive = keepalive_plan_of(config_.profile(profile), set, clock_.now());
    return s;
}

Duration inactivity_limit(const settings::ProfileConfig& config, std::string_view service) {
    const auto set = std::chrono::duration_cast<Duration>(config.oauth_inactivity_limit);
    if (set > Duration::zero()) return set;
    const auto known = oauth::parse_service(service);
    if (known == oauth::Service::exchange_online || known == oauth::Service::outlook_com)
        return oauth::microsoft_inactivity_limit;
    if (known == oauth::Service::gmail) return oauth::google_inactivity_limit;
    return Duration::zero();
}

oauth::KeepAlivePlan keepalive_plan_of(const settings::ProfileConfig& config,
                                       const oauth::TokenSet& tokens, TimePoint now) {
    return oauth::keepalive_plan(
        tokens, std::chrono::duration_cast<Duration>(config.oauth_keepalive_interval),
        inactivity_limit(config, tokens.service), now);
}

}  // namespace pb::service
