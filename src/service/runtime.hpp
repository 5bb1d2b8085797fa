// How the settings of a profile become the objects that sign in and send:
// the OAuth client (provider, grant, scopes), the HTTP client (proxy, CAs),
// the token manager, the SMTP server and credentials. The CLI, serve, the
// web page and delivery all go through here, so a setting means the same
// thing everywhere.
#pragma once

#include <map>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "oauth/grants.hpp"
#include "oauth/http_curl.hpp"
#include "oauth/keepalive.hpp"
#include "oauth/token_manager.hpp"
#include "service/tokens.hpp"
#include "smtp/client.hpp"
#include "store/store.hpp"

namespace pb::service {

// A profile's sign-in as status shows it.
struct SignInStatus {
    oauth::SignInState state = oauth::SignInState::signed_out;
    std::string reason;  // why expired / reauth-required
    std::string service;
    std::string account;
    std::optional<TimePoint> access_expires_at;
    std::optional<TimePoint> last_refresh;
    std::optional<TimePoint> signed_in_at;
    oauth::KeepAlivePlan keepalive;
};

// How long the provider keeps an unused sign-in: PROFILE.oauth.inactivity_limit,
// or for a profile set up before that key existed, its service's (Microsoft,
// Google); zero when not known.
Duration inactivity_limit(const settings::ProfileConfig& config, std::string_view service);
// The keep-alive plan (and the lapse warning) of a stored sign-in.
oauth::KeepAlivePlan keepalive_plan_of(const settings::ProfileConfig& config,
                                       const oauth::TokenSet& tokens, TimePoint now);

// Current Status as the manual's Email Server Status shows it ("Signed in",
// "Signed out", with why in parentheses).
// An app-only profile (client credentials) with no token yet is not signed
// out: it gets one by itself when it sends.
std::string_view current_status_label(oauth::SignInState s,
                                      settings::Grant grant = settings::Grant::device) noexcept;
// An RFC 3339 time, or "" for none (status lines and JSON leave it out).
std::string rfc3339_or_empty(std::optional<TimePoint> t);

// One profile of `status --json` (design.md), shared by the command, the
// status page's JSON and the API: name, auth_method, service, status,
// account, reason, the times, and warnings (the settings' and keep-alive's).
nlohmann::json status_json(const settings::Config& config, const std::string& profile,
                           const SignInStatus& st, oauth::SignInState shown);

// Hands the SMTP client tokens from the token manager; a forced request
// after a 535 asks for a new token once.
class ProfileTokenProvider final : public smtp::TokenProvider {
  public:
    ProfileTokenProvider(oauth::TokenManager& m, oauth::Client c, std::string profile,
                         Duration margin)
        : manager_(m), client_(std::move(c)), profile_(std::move(profile)), margin_(margin) {}
    Result<Secret> access_token(bool forced) override;
    const std::string& account() const { return account_; }

  private:
    oauth::TokenManager& manager_;
    oauth::Client client_;
    std::string profile_;
    Duration margin_;
    Secret last_;
    std::string account_;
};

// The pieces of a profile's OAuth client, for callers that keep their own
// HTTP client (the web page's sign-in threads). Errors are 643 naming the
// setting to change.
oauth::CurlOptions curl_options(const settings::ProfileConfig& config, store::Store& store);
Result<oauth::Provider> provider_for(const settings::ProfileConfig& config,
                                     std::string_view profile, oauth::HttpClient& http);
Result<oauth::Client> client_for(const settings::ProfileConfig& config, store::Store& store,
                                 std::string_view profile, oauth::Provider provider);

class Runtime {
  public:
    Runtime(store::Store& store, const Clock& clock, Random& rng);

    // Reads the settings again (a running serve uses changes from its next
    // job on).
    Result<void> reload();
    const settings::Config& config() const { return config_; }
    const settings::Settings& settings() const { return config_.settings(); }
    const settings::ProfileConfig& profile(std::string_view name) const {
        return config_.profile(name);
    }
    store::Store& store() { return store_; }
    const Clock& clock() const { return clock_; }
    Random& random() { return rng_; }

    // Fails with 652 naming the profile when it does not exist.
    Result<void> check_profile(std::string_view profile);

    Result<oauth::HttpClient*> http(std::string_view profile);
    // The OAuth client of a profile; a custom service is discovered once per
    // Runtime. Consistency problems (no client id, no issuer) are 643 with
    // the setting to change.
    Result<oauth::Client> oauth_client(std::string_view profile);
    Result<oauth::TokenManager*> tokens(std::string_view profile);
    Duration refresh_margin(std::string_view profile) const;

    Result<smtp::ServerConfig> smtp_server(std::string_view profile);
    // Credentials for the profile's Authentication Method; for OAuth2 the
    // token provider is made and kept in `holder`.
    Result<smtp::Credentials> credentials(std::string_view profile,
                                          std::unique_ptr<ProfileTokenProvider>& holder);

    // POP before SMTP: logs in to the profile's POP3 server when its
    // Authentication Method is pop-before-smtp (servers then let this host
    // send for a few minutes); nothing for other methods. Errors as
    // pop3::login's.
    Result<void> pop_before_smtp(std::string_view profile);

    Result<SignInStatus> status(std::string_view profile);

  private:
    // The profile's Authenticated Password (email's for a user profile
    // without one); 652 naming `what` needs it when none is set.
    Result<Secret> password(std::string_view profile, std::string_view what);
    struct PerProfile {
        std::unique_ptr<oauth::CurlHttpClient> http;
        std::unique_ptr<oauth::TokenManager> manager;
        std::optional<oauth::Provider> provider;  // discovered once per Runtime
    };
    Result<PerProfile*> slot(std::string_view profile);

    store::Store& store_;
    const Clock& clock_;
    Random& rng_;
    settings::Config config_;
    SealedTokenStore token_store_;
    std::map<std::string, PerProfile, std::less<>> profiles_;
};

}  // namespace pb::service
