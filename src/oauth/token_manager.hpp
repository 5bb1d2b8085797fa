// Hands out access tokens for sending, keeping each profile's sign-in fresh:
// refresh ahead of expiry, after a rejection, and for keep-alive; store the
// rotated refresh token before anything uses the new access token; turn a
// failed refresh into the profile's new sign-in state; sign out.
//
// Single flight: any number of threads asking for one profile's token while
// a refresh is due cause one request; the others wait for its result. Across
// processes, the leader holds the store's lock (TokenStore::lock) and
// re-reads the stored set under it, so a refresh another process finished a
// moment ago is used, not repeated with a refresh token that has rotated out.
#pragma once

#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "oauth/grants.hpp"
#include "oauth/http.hpp"
#include "oauth/token.hpp"
#include "oauth/token_store.hpp"

namespace pb::oauth {

inline constexpr Duration default_refresh_margin = std::chrono::minutes{5};

struct AccessToken {
    Secret token;
    std::string account;
    TimePoint expires_at{};
    TimePoint refreshed_at{};  // when the set it came from was last refreshed
    std::string resource;      // empty: the sign-in's own; else a Resource's name
};

// Another resource than the sign-in's own (Graph beside SMTP): its name
// (the key in TokenSet::resources), the scopes to ask for it, and an RFC
// 8707 resource indicator when one is set. Its tokens come from the one
// refresh token, through the same single flight per profile: a rotated
// refresh token reused by a second, parallel refresh would revoke the grant.
struct Resource {
    std::string name;
    std::string scope;
    std::string indicator;
};

struct SignOutReport {
    bool revoked = false;               // the provider confirmed the revocation
    std::optional<Error> revoke_error;  // it could not be asked; the tokens are deleted anyway
};

class TokenManager {
  public:
    // Other processes are kept out by the store's lock (TokenStore::lock).
    TokenManager(HttpClient& http, TokenStore& store, const Clock& clock);

    // A token that is good for at least `margin` (refreshing when it is not).
    // Errors: 360/361/370 from the sign-in state (no request is made); 642,
    // 60x and 643 when a needed refresh failed (the tokens are kept).
    Result<AccessToken> access_token(std::string_view profile, const Client& client,
                                     Duration margin = default_refresh_margin);

    // After a server rejected `rejected` (SMTP 535): a new token, unless some
    // other caller has refreshed since, in which case that one comes back.
    Result<AccessToken> refresh_rejected(std::string_view profile, const Client& client,
                                         const Secret& rejected);

    // The same for another resource (Graph). A sign-in that cannot get its
    // token (consent for its scopes missing, the grant revoked) is 370.
    Result<AccessToken> access_token(std::string_view profile, const Client& client,
                                     const Resource& resource,
                                     Duration margin = default_refresh_margin);
    Result<AccessToken> refresh_rejected(std::string_view profile, const Client& client,
                                         const Resource& resource, const Secret& rejected);

    // Refreshes when the last refresh is `interval` old, so that an unused
    // sign-in outlives the provider's inactivity limit. A failure is recorded
    // (keepalive_failed_at) for the status warning and returned.
    Result<void> keep_alive(std::string_view profile, const Client& client, Duration interval);

    // Stores a new sign-in (device flow, PKCE), replacing whatever the profile
    // had: one service at a time per profile.
    Result<AccessToken> complete_sign_in(std::string_view profile, const Client& client,
                                         TokenResponse tokens);

    // Revokes at the provider when it has an RFC 7009 endpoint, then deletes.
    // Only a failure to delete is an Error.
    Result<SignOutReport> sign_out(std::string_view profile, const Client& client);

  private:
    struct Want {
        Duration margin = default_refresh_margin;
        const Secret* rejected = nullptr;    // refresh if the stored token is this one
        std::optional<Duration> keepalive;   // refresh if the last refresh is this old
        const Resource* resource = nullptr;  // another resource's token instead of the own
    };
    using Shared = std::shared_future<Result<AccessToken>>;

    Result<AccessToken> single_flight(std::string_view profile, const Client& client,
                                      const Want& want);
    Result<AccessToken> lead(std::string_view profile, const Client& client, const Want& want);
    Result<AccessToken> refresh(std::string_view profile, const Client& client, const Want& want,
                                TokenSet stored, TimePoint now);
    Result<AccessToken> resource_token(std::string_view profile, const Client& client,
                                       const Want& want, TokenSet stored, TimePoint now);
    Result<AccessToken> fetch_app_token(std::string_view profile, const Client& client,
                                        const Want& want, std::optional<TokenSet> stored,
                                        TimePoint now);
    // What a leader, a sign-in or a sign-out holds while it reads and writes
    // the profile's set: the profile's mutex (threads here) and the
    // store's lock (other processes), taken in that order.
    struct Exclusive {
        std::unique_lock<std::mutex> local;
        std::unique_ptr<TokenStore::Lock> shared;
    };
    Result<Exclusive> exclusive(std::string_view profile);

    HttpClient& http_;
    TokenStore& store_;
    const Clock& clock_;

    std::mutex mu_;  // guards the two maps
    std::map<std::string, Shared, std::less<>> flights_;
    std::map<std::string, std::unique_ptr<std::mutex>, std::less<>> profile_mutexes_;
};

}  // namespace pb::oauth
