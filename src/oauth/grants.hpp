// The token endpoint requests of every grant postbridge uses, built from one
// description of the client, and the reading of their answers. No I/O: the
// device flow, the PKCE flow and the token manager send what these build.
//
// Client authentication: a public client (no secret) names itself with
// client_id in the body; a confidential one uses HTTP Basic, the method
// RFC 6749 2.3.1 requires every server to accept (Microsoft, Google and
// oidc-provider do), so the secret is never in a form that might be logged.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/secret.hpp"
#include "oauth/http.hpp"
#include "oauth/provider.hpp"
#include "oauth/token.hpp"

namespace pb::oauth {

enum class Grant { device, authorization_code, client_credentials };
std::string_view to_string(Grant g) noexcept;
std::optional<Grant> parse_grant(std::string_view name) noexcept;

// One profile's OAuth client, as its settings describe it.
struct Client {
    Provider provider;
    Grant grant = Grant::device;
    std::string client_id;
    Secret client_secret;  // empty: a public client (the device)
    std::string scope;     // space-separated; empty = the provider's defaults
    // RFC 8707 resource indicator sent with token requests, when set (a
    // custom issuer's Graph resource, PROFILE.graph.resource).
    std::string resource;
    // Where the browser lands after the authorization code grant; loopback
    // (RFC 8252 7.3) so that no server of ours has to be reachable.
    std::string redirect_uri = "http://127.0.0.1/callback";

    // Scopes of another resource asked for at sign-in only, so that one
    // consent covers both (Graph beside SMTP, when transport is graph or
    // auto). Microsoft gives a token for one resource at a time and lets a
    // sign-in ask consent for several ("You can ensure that the user
    // pre-consents to several resources", learn.microsoft.com "Desktop app
    // that calls web APIs: Move to production", MSAL's extraScopesToConsent);
    // that the device code endpoint takes them alike is inferred, not
    // documented. The sign-in's token stays the first resource's (SMTP);
    // each refresh asks for one resource's scopes.
    std::string consent_scope;

    std::string_view scopes() const noexcept {
        return scope.empty() ? std::string_view(provider.default_scopes) : std::string_view(scope);
    }
    // What a sign-in asks for: scopes() and consent_scope.
    std::string sign_in_scopes() const;
};

HttpRequest device_authorization_request(const Client& c);
HttpRequest device_token_request(const Client& c, const Secret& device_code);
HttpRequest refresh_request(const Client& c, const Secret& refresh_token);
HttpRequest code_exchange_request(const Client& c, const Secret& code, const Secret& verifier);
HttpRequest client_credentials_request(const Client& c);
// RFC 7009; the refresh token when there is one (revoking it kills the grant).
HttpRequest revocation_request(const Client& c, const Secret& token, std::string_view type_hint);

// The answer of any token request: a TokenResponse on 200, otherwise the
// decoded failure (provider_error.hpp); its code says what became of the
// sign-in: 361 expired, 370 reauth-required, anything else leaves it as it
// was. `idle`: see decode_error.
Result<TokenResponse> read_token_answer(const Client& c, const HttpResponse& answer, TimePoint now,
                                        Duration idle = Duration{0});

}  // namespace pb::oauth
