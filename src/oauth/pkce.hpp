// The authorization code grant with PKCE (RFC 7636, S256) for Gmail, whose
// device flow refuses mail scopes, and for any provider without a device
// endpoint. postbridge prints a sign-in link; the administrator opens it in a
// browser, signs in, and pastes back the loopback URL the browser ended on.
// This file builds that link and reads what comes back; the exchange itself
// is code_exchange_request (grants.hpp).
#pragma once

#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "oauth/grants.hpp"

namespace pb::oauth {

// BASE64URL(SHA256(ASCII(verifier))), RFC 7636 4.2.
std::string s256_challenge(std::string_view verifier);

// A sign-in started: the link to open, and what must be kept (in memory, for
// the minutes until the administrator comes back) to finish it.
struct AuthorizationRequest {
    std::string url;    // state and code_challenge only: no secret in a URL
    std::string state;  // CSRF guard, checked on return
    Secret verifier;    // proves the code is redeemed by whoever asked for it
};

// 32 random bytes each for the verifier (43 characters, RFC 7636 4.1) and
// the state. Fails with 643 when the provider has no authorization endpoint.
Result<AuthorizationRequest> begin_authorization(const Client& c, Random& rng);

// Reads the URL the browser was sent back to (or just its query). Checks the
// state in constant time; returns the code. Errors: 652 for a URL that is not
// our redirect or has a wrong state, 360 when the sign-in was declined, and
// the provider's decoded error otherwise.
Result<Secret> read_redirect(const Client& c, std::string_view pasted,
                             std::string_view expected_state);

}  // namespace pb::oauth
