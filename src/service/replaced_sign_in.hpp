// One service at a time per profile (the manual: "Any other email services
// signed in will be signed out automatically"). A sign-in belongs to the
// settings it was made with: the service, the grant, the tenant, the
// authority, the issuer and the client id. When a change of settings moves
// any of them, the old sign-in ends: revoked at the old provider where it
// has an RFC 7009 endpoint, and deleted here in every case. The Basic page,
// `config set`, `config import` and the JSON API all end it through here.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/settings.hpp"
#include "oauth/token.hpp"
#include "oauth/token_store.hpp"
#include "store/store.hpp"

namespace pb::service {

// The settings a sign-in belongs to.
inline constexpr std::string_view kSignInIdentity[] = {
    "service", "oauth.grant", "oauth.tenant", "oauth.issuer", "oauth.client_id", "oauth.authority",
};

// The profiles among `profiles` (email, fax, user:NAME) whose sign-in the
// move from `before` to `after` ends. A user profile inherits email's keys,
// so a new service for email ends the users' sign-ins too.
std::vector<std::string> replaced_sign_ins(const settings::Settings& before,
                                           const settings::Settings& after,
                                           const std::vector<std::string>& profiles);

// Whether a stored sign-in may stand for the profile as configured now: one
// made for another service never is (it is neither used nor shown as
// Signed in). A set from before the service was recorded is taken as is.
bool belongs_to(const oauth::TokenSet& tokens, const settings::ProfileConfig& config);

struct EndedSignIn {
    std::string profile;
    std::string account;   // who was signed in, for the page's message
    bool revoked = false;  // the old provider confirmed the revocation
    std::string note;      // why it could not be revoked, when it could not
};

// Ends `profile`'s sign-in as `before` describes its provider: revokes, then
// deletes the tokens and any pending sign-in record. nullopt when the
// profile had no tokens. Only a failure to delete is an error; a provider
// that cannot be reached is a note.
Result<std::optional<EndedSignIn>> end_sign_in(store::Store& store, oauth::TokenStore& tokens,
                                               const settings::Settings& before,
                                               std::string_view profile, const Clock& clock);

// The sentence for the page, the CLI and the log: "The sign-in of a@b
// (profile email) was ended and revoked at the old provider."
std::string describe(const EndedSignIn& e);

}  // namespace pb::service
