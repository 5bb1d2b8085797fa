#include "oauth/token_manager.hpp"

#include <utility>

#include "oauth/provider_error.hpp"

namespace pb::oauth {
namespace {

AccessToken handed_out(const TokenSet& t) {
    return {t.access_token, t.account, t.access_expires_at, t.last_refresh, {}};
}

// A token still inside its lifetime is worth handing out even when the
// refresh that was due failed: it will work until it expires.
bool still_valid(const TokenSet& t, TimePoint now) {
    return !t.access_token.empty() && now < t.access_expires_at;
}

std::optional<SignInState> state_for(Errc code) {
    if (code == Errc::sign_in_expired) return SignInState::expired;
    if (code == Errc::sign_in_again) return SignInState::reauth_required;
    return std::nullopt;
}

// Sets the result for waiters even if the leader unwinds by an exception, so
// that nobody waits on a promise that will never be kept.
class FlightGuard {
  public:
    explicit FlightGuard(std::promise<Result<AccessToken>>& p) : p_(p) {}
    FlightGuard(const FlightGuard&) = delete;
    FlightGuard& operator=(const FlightGuard&) = delete;
    void set(const Result<AccessToken>& r) {
        p_.set_value(r);
        set_ = true;
    }
    ~FlightGuard() {
        if (!set_)
            p_.set_value(
                fail(Errc::identity_provider_unavailable, "the token refresh was interrupted"));
    }

  private:
    std::promise<Result<AccessToken>>& p_;
    bool set_ = false;
};

}  // namespace

TokenManager::TokenManager(HttpClient& http, TokenStore& store, const Clock& clock)
    : http_(http), store_(store), clock_(clock) {}

Result<AccessToken> TokenManager::access_token(std::string_view profile, const Client& client,
                                               Duration margin) {
    return single_flight(profile, client,
                         Want{.margin = margin, .rejected = nullptr, .keepalive = std::nullopt});
}

Result<AccessToken> TokenManager::refresh_rejected(std::string_view profile, const Client& client,
                                                   const Secret& rejected) {
    return single_flight(
        profile, client,
        Want{.margin = default_refresh_margin, .rejected = &rejected, .keepalive = std::nullopt});
}

Result<AccessToken> TokenManager::access_token(std::string_view profile, const Client& client,
                                               const Resource& resource, Duration margin) {
    return single_flight(profile, client,
                         Want{.margin = margin,
                              .rejected = nullptr,
                              .keepalive = std::nullopt,
                              .resource = &resource});
}

Result<AccessToken> TokenManager::refresh_rejected(std::string_view profile, const Client& client,
                                                   const Resource& resource,
                                                   const Secret& rejected) {
    return single_flight(profile, client,
                         Want{.margin = default_refresh_margin,
                              .rejected = &rejected,
                              .keepalive = std::nullopt,
                              .resource = &resource});
}

Result<void> TokenManager::keep_alive(std::string_view profile, const Client& client,
                                      Duration interval) {
    // An app-only profile has no refresh token to keep alive.
    if (client.grant == Grant::client_credentials || interval <= Duration::zero()) return {};
    auto r = single_flight(
        profile, client,
        Want{.margin = default_refresh_margin, .rejected = nullptr, .keepalive = interval});
    if (!r) return std::move(r).error();
    return {};
}

Result<AccessToken> TokenManager::single_flight(std::string_view profile, const Client& client,
                                                const Want& want) {
    for (;;) {
        std::promise<Result<AccessToken>> promise;
        Shared flight;
        bool leader = false;
        {
            std::lock_guard lock(mu_);
            if (const auto it = flights_.find(profile); it != flights_.end()) {
                flight = it->second;
            } else {
                flight = promise.get_future().share();
                flights_.emplace(std::string(profile), flight);
                leader = true;
            }
        }
        if (!leader) {
            Result<AccessToken> r = flight.get();
            // A flight that began before our token was rejected, or that had
            // no reason to refresh, may not give what we came for: then lead
            // (or join) the next one, which re-reads the store and decides.
            // So may one for another resource: a flight is per profile.
            const std::string_view wanted =
                want.resource ? std::string_view(want.resource->name) : std::string_view();
            // (A failure is shared whatever the resource: its cause, the
            // provider or the grant, is the same for both.)
            const bool stale =
                r.ok() && (r->resource != wanted ||
                           (want.rejected != nullptr && r->token == *want.rejected) ||
                           (want.keepalive && r->refreshed_at + *want.keepalive <= clock_.now()));
            if (!stale) return r;
            continue;
        }
        FlightGuard guard(promise);
        Result<AccessToken> r = lead(profile, client, want);
        {
            std::lock_guard lock(mu_);
            flights_.erase(flights_.find(profile));
        }
        guard.set(r);
        return r;
    }
}

Result<TokenManager::Exclusive> TokenManager::exclusive(std::string_view profile) {
    std::mutex* m = nullptr;
    {
        std::lock_guard lock(mu_);
        auto it = profile_mutexes_.find(profile);
        if (it == profile_mutexes_.end())
            it = profile_mutexes_.emplace(std::string(profile), std::make_unique<std::mutex>())
                     .first;
        m = it->second.get();
    }
    Exclusive ex{std::unique_lock(*m), nullptr};
    auto shared = store_.lock(profile);
    if (!shared) return std::move(shared).error();
    ex.shared = std::move(*shared);
    return ex;
}

Result<AccessToken> TokenManager::lead(std::string_view profile, const Client& client,
                                       const Want& want) {
    auto ex = exclusive(profile);
    if (!ex) return std::move(ex).error();
    // Re-read under the lock: another process may have refreshed (and rotated
    // the refresh token) since this one last looked.
    auto loaded = store_.load(profile);
    if (!loaded) return std::move(loaded).error();
    // A sign-in made for another service is not this one's: the settings
    // moved on and it was left behind (service/replaced_sign_in.hpp).
    if (*loaded && !(*loaded)->service.empty() &&
        (*loaded)->service != to_string(client.provider.service))
        loaded->reset();
    const TimePoint now = clock_.now();
    if (client.grant == Grant::client_credentials)
        return fetch_app_token(profile, client, want, std::move(*loaded), now);

    if (!*loaded) return fail(Errc::not_signed_in, "the profile is not signed in");
    TokenSet& stored = **loaded;
    if (const auto code = job_code(stored.state))
        return fail(*code, stored.state_reason.empty() ? std::string(to_string(stored.state))
                                                       : stored.state_reason);

    if (want.resource) return resource_token(profile, client, want, std::move(stored), now);
    const bool due = stored.access_token.empty() || stored.access_expires_at - want.margin <= now ||
                     (want.rejected != nullptr && stored.access_token == *want.rejected) ||
                     (want.keepalive && stored.last_refresh + *want.keepalive <= now);
    if (!due) return handed_out(stored);
    return refresh(profile, client, want, std::move(stored), now);
}

Result<AccessToken> TokenManager::refresh(std::string_view profile, const Client& client,
                                          const Want& want, TokenSet stored, TimePoint now) {
    const bool rejected = want.rejected != nullptr && stored.access_token == *want.rejected;
    auto keep_or = [&](Error e) -> Result<AccessToken> {
        if (want.keepalive) {
            stored.keepalive_failed_at = now;
            if (auto saved = store_.save(profile, stored); !saved) return std::move(saved).error();
        }
        if (!rejected && !want.keepalive && still_valid(stored, now)) return handed_out(stored);
        return e;
    };

    if (!stored.has_refresh_token()) {
        if (!rejected && still_valid(stored, now)) return handed_out(stored);
        stored.state = SignInState::reauth_required;
        stored.state_reason =
            "the sign-in gave no refresh token (was offline_access granted?): sign in again";
        stored.access_token = Secret{};
        if (auto saved = store_.save(profile, stored); !saved) return std::move(saved).error();
        return fail(Errc::sign_in_again, stored.state_reason);
    }

    auto answer = send_to_identity_provider(http_, refresh_request(client, stored.refresh_token));
    if (!answer) return keep_or(std::move(answer).error());
    auto tokens = read_token_answer(client, *answer, now, now - stored.last_refresh);
    if (!tokens) {
        Error e = std::move(tokens).error();
        const auto new_state = state_for(e.code);
        if (!new_state) return keep_or(std::move(e));
        // The grant is gone: keep who and why for the status page, drop the
        // tokens that no longer work so that nothing sends them again.
        stored.state = *new_state;
        stored.state_reason = e.detail;
        stored.access_token = Secret{};
        stored.refresh_token = Secret{};
        if (auto saved = store_.save(profile, stored); !saved) return std::move(saved).error();
        return e;
    }
    TokenSet fresh = merge(std::move(stored), std::move(*tokens), now);
    fresh.last_use = now;
    // Durable before anyone gets the new access token: if this fails, the
    // rotated refresh token would be lost with the process, so say so.
    if (auto saved = store_.save(profile, fresh); !saved) return std::move(saved).error();
    return handed_out(fresh);
}

Result<AccessToken> TokenManager::resource_token(std::string_view profile, const Client& client,
                                                 const Want& want, TokenSet stored, TimePoint now) {
    const Resource& res = *want.resource;
    auto handed = [&](const ResourceToken& t) {
        return AccessToken{t.access_token, stored.account, t.expires_at, stored.last_refresh,
                           res.name};
    };
    const auto it = stored.resources.find(res.name);
    const bool have = it != stored.resources.end() && !it->second.access_token.empty();
    const bool rejected =
        have && want.rejected != nullptr && it->second.access_token == *want.rejected;
    if (have && !rejected && it->second.expires_at - want.margin > now) return handed(it->second);
    const bool usable = have && !rejected && now < it->second.expires_at;
    if (!stored.has_refresh_token()) {
        if (usable) return handed(it->second);
        return fail(Errc::sign_in_again, "the sign-in gave no refresh token for the " + res.name +
                                             " token: sign in again");
    }
    Client c = client;
    c.scope = res.scope;
    c.resource = res.indicator;
    auto answer = send_to_identity_provider(http_, refresh_request(c, stored.refresh_token));
    if (!answer) {
        if (usable) return handed(it->second);
        return std::move(answer).error();
    }
    auto tokens = read_token_answer(c, *answer, now, now - stored.last_refresh);
    if (!tokens) {
        Error e = std::move(tokens).error();
        const auto new_state = state_for(e.code);
        if (!new_state) {
            if (usable) return handed(it->second);
            return e;
        }
        // As for the own token: a grant that no longer gives tokens (revoked,
        // or the scopes of this resource never consented) needs a new
        // sign-in, which asks for both resources' scopes.
        e.detail = "the " + res.name + " token: " + e.detail;
        stored.state = *new_state;
        stored.state_reason = e.detail;
        stored.access_token = Secret{};
        stored.refresh_token = Secret{};
        stored.resources.clear();
        if (auto saved = store_.save(profile, stored); !saved) return std::move(saved).error();
        return e;
    }
    // The refresh token rotated: keep the new one, durably, before use.
    if (!tokens->refresh_token.empty()) stored.refresh_token = std::move(tokens->refresh_token);
    stored.last_refresh = now;
    stored.last_use = now;
    stored.keepalive_failed_at.reset();
    ResourceToken fresh{std::move(tokens->access_token), tokens->expires_at,
                        tokens->scope.empty() ? res.scope : tokens->scope};
    stored.resources[res.name] = fresh;
    if (auto saved = store_.save(profile, stored); !saved) return std::move(saved).error();
    return handed(stored.resources[res.name]);
}

Result<AccessToken> TokenManager::fetch_app_token(std::string_view profile, const Client& client,
                                                  const Want& want, std::optional<TokenSet> stored,
                                                  TimePoint now) {
    if (want.resource) {
        const Resource& res = *want.resource;
        TokenSet set = stored.value_or(TokenSet{});
        const auto it = set.resources.find(res.name);
        const bool have = it != set.resources.end() && !it->second.access_token.empty();
        const bool rejected_r =
            have && want.rejected != nullptr && it->second.access_token == *want.rejected;
        auto handed = [&](const ResourceToken& t) {
            return AccessToken{t.access_token, set.account, t.expires_at, set.last_refresh,
                               res.name};
        };
        if (have && !rejected_r && it->second.expires_at - want.margin > now)
            return handed(it->second);
        Client c = client;
        c.scope = res.scope;  // the resource's ".default" for an application
        c.resource = res.indicator;
        auto answer = send_to_identity_provider(http_, client_credentials_request(c));
        Result<TokenResponse> tokens = answer ? read_token_answer(c, *answer, now)
                                              : Result<TokenResponse>(std::move(answer).error());
        if (!tokens) {
            if (have && !rejected_r && now < it->second.expires_at) return handed(it->second);
            return std::move(tokens).error();
        }
        set.service = std::string(to_string(client.provider.service));
        set.resources[res.name] = ResourceToken{std::move(tokens->access_token), tokens->expires_at,
                                                tokens->scope.empty() ? res.scope : tokens->scope};
        set.last_use = now;
        if (set.signed_in_at == TimePoint{}) set.signed_in_at = now;
        if (auto saved = store_.save(profile, set); !saved) return std::move(saved).error();
        return handed(set.resources[res.name]);
    }
    const bool rejected =
        stored && want.rejected != nullptr && stored->access_token == *want.rejected;
    if (stored && !rejected && still_valid(*stored, now) &&
        stored->access_expires_at - want.margin > now)
        return handed_out(*stored);
    auto answer = send_to_identity_provider(http_, client_credentials_request(client));
    Result<TokenResponse> tokens = answer ? read_token_answer(client, *answer, now)
                                          : Result<TokenResponse>(std::move(answer).error());
    if (!tokens) {
        if (stored && !rejected && still_valid(*stored, now)) return handed_out(*stored);
        return std::move(tokens).error();
    }
    TokenSet fresh = merge(stored.value_or(TokenSet{}), std::move(*tokens), now);
    fresh.service = std::string(to_string(client.provider.service));
    fresh.refresh_token = Secret{};  // client credentials never use one (RFC 6749 4.4.3)
    fresh.last_use = now;
    if (auto saved = store_.save(profile, fresh); !saved) return std::move(saved).error();
    return handed_out(fresh);
}

Result<AccessToken> TokenManager::complete_sign_in(std::string_view profile, const Client& client,
                                                   TokenResponse tokens) {
    auto ex = exclusive(profile);
    if (!ex) return std::move(ex).error();
    const TimePoint now = clock_.now();
    TokenSet fresh = merge(TokenSet{}, std::move(tokens), now);
    fresh.service = std::string(to_string(client.provider.service));
    fresh.signed_in_at = now;
    fresh.last_use = now;
    if (fresh.scope.empty()) fresh.scope = std::string(client.scopes());
    if (auto saved = store_.save(profile, fresh); !saved) return std::move(saved).error();
    return handed_out(fresh);
}

Result<SignOutReport> TokenManager::sign_out(std::string_view profile, const Client& client) {
    auto ex = exclusive(profile);
    if (!ex) return std::move(ex).error();
    auto loaded = store_.load(profile);
    if (!loaded) return std::move(loaded).error();
    SignOutReport report;
    if (*loaded && !client.provider.endpoints.revocation.empty()) {
        const TokenSet& t = **loaded;
        // Revoking the refresh token ends the whole grant (RFC 7009 2.1);
        // an app-only profile has just its access token to revoke.
        const bool refresh = t.has_refresh_token();
        const Secret& token = refresh ? t.refresh_token : t.access_token;
        if (!token.empty()) {
            auto answer = send_to_identity_provider(
                http_,
                revocation_request(client, token, refresh ? "refresh_token" : "access_token"));
            if (!answer) {
                report.revoke_error = std::move(answer).error();
            } else if (answer->status == 200) {
                report.revoked = true;
            } else {
                const Verdict v =
                    decode_failure(client.provider.family, answer->status, answer->body.reveal());
                report.revoke_error =
                    Error{v.code, "the provider did not revoke the tokens: " + v.message};
            }
        }
    }
    if (auto removed = store_.remove(profile); !removed) return std::move(removed).error();
    return report;
}

}  // namespace pb::oauth
