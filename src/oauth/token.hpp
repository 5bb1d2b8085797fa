// What a sign-in leaves behind (TokenSet, the record a TokenStore keeps per
// profile), the sign-in states a profile can be in, and the reading of a
// token endpoint's success answer (RFC 6749 5.1).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

namespace pb::oauth {

// A profile's sign-in, as the web page and `postbridge status` show it.
enum class SignInState {
    signed_out,       // never signed in, or signed out
    pending,          // a device code is out, nobody has entered it yet
    signed_in,        // tokens that work (or a refresh that will make them work)
    expired,          // the refresh token died of disuse (AADSTS700082)
    reauth_required,  // revoked, password changed, consent gone, MFA or Conditional Access
};

std::string_view to_string(SignInState s) noexcept;

// The job code a send meets in this state: 360, 361, 370, or none when a
// send may go ahead. Pending is still "no connection" for a job: it is held.
std::optional<Errc> job_code(SignInState s) noexcept;

// An access token for another resource than the sign-in's own (Microsoft
// Graph beside SMTP), got with the same refresh token: Microsoft issues a
// token for one resource at a time ("for the resource specified in the first
// scope", providers.md section 1), and a token for the wrong resource is refused.
struct ResourceToken {
    Secret access_token;
    TimePoint expires_at{};
    std::string scope;
};

struct TokenSet {
    SignInState state = SignInState::signed_in;
    std::string state_reason;  // why expired / reauth_required, in words

    std::string service;  // the one service these tokens are for ("exchange-online", ...)
    std::string account;  // from the ID token (email, preferred_username) or the account setting
    std::string scope;    // as granted

    Secret access_token;
    TimePoint access_expires_at{};
    Secret refresh_token;  // empty for client credentials

    TimePoint signed_in_at{};
    TimePoint last_refresh{};  // also the refresh token's last use: the inactivity clock
    TimePoint last_use{};
    std::optional<TimePoint> keepalive_failed_at;  // since the last successful refresh
    // By resource name ("graph"); the refresh token above serves them all.
    std::map<std::string, ResourceToken> resources;

    bool has_refresh_token() const noexcept { return !refresh_token.empty(); }
};

// A token endpoint's 200 answer.
struct TokenResponse {
    Secret access_token;
    TimePoint expires_at{};
    Secret refresh_token;  // empty when the server kept the old one
    std::string scope;     // empty when the server did not say (then: as requested)
    std::string account;   // empty without an ID token naming the user
    // Every name the ID token gives the user (email, preferred_username,
    // upn), for checking that the right account signed in.
    std::vector<std::string> identities;
};

// When a server leaves out expires_in (RFC 6749 makes it only RECOMMENDED),
// the token is taken to live this long: a guess that is safe either way,
// because a token the server rejects earlier is refreshed on the 535.
inline constexpr Duration default_token_lifetime = std::chrono::hours{1};

// Reads the JSON of a successful token response. Fails with 642 (the
// provider answered something that is not a token response).
Result<TokenResponse> parse_token_response(std::string_view body, TimePoint now);

// The account an ID token names: `email`, else `preferred_username`, else
// empty. The signature is not checked, on purpose: this token came straight
// from the token endpoint over TLS (or loopback) in answer to our own
// authenticated request (OIDC Core 3.1.3.7, item 6), and it is used only to
// show and address the account, never to grant access.
std::string account_from_id_token(std::string_view id_token);
// Its `email`, `preferred_username` and `upn` claims, those present, in that order.
std::vector<std::string> identities_from_id_token(std::string_view id_token);

// The stored set after a successful grant or refresh: a server that did not
// rotate the refresh token, or said no scope or account, leaves the old ones.
TokenSet merge(TokenSet previous, TokenResponse response, TimePoint now);

}  // namespace pb::oauth
