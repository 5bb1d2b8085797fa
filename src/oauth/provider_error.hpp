// Reading an identity provider's error answer (RFC 6749 5.2, plus Microsoft's
// error_codes and Google's descriptions) into what it means for the profile:
// its new sign-in state, the job code, and a sentence an administrator can
// act on. The manual's troubleshooting (Conditional Access, consent on behalf
// of the organization, the expiry message) is produced here.
//
// Decisions branch on `error` and on Microsoft's numeric error_codes, never on
// error_description text: Microsoft says never to react to that field. The
// one exception is Google's invalid_grant, whose description is the only
// signal there is (see decode_error).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "oauth/provider.hpp"
#include "oauth/token.hpp"

namespace pb::oauth {

struct ProviderError {
    long http_status = 0;
    std::string error;              // RFC 6749 error code, e.g. "invalid_grant"
    std::vector<long> error_codes;  // Microsoft: AADSTS numbers, e.g. 700082
    std::string description;        // never shown raw (may echo request data); see decode_error
};

// Reads an error body; nullopt when it is not a JSON object with `error`.
std::optional<ProviderError> parse_error_body(long http_status, std::string_view body);

// What a failed token request means.
struct Verdict {
    Errc code;
    // The profile's new state; nullopt leaves it as it was (transient and
    // configuration failures keep the tokens: nothing is wrong with them).
    std::optional<SignInState> state;
    std::string message;  // for the status page and the job detail
};

// For a refresh or code exchange that failed with an error body.
// `idle` is how long the refresh token had gone unused: Google gives one
// answer for "expired from disuse" and "revoked", and only the disuse tells
// them apart.
Verdict decode_error(Family family, const ProviderError& e, Duration idle = Duration{0});

// For any non-2xx answer of a token endpoint: the error body when there is
// one, else a verdict from the status alone (5xx, 429 -> 642; other 4xx -> 643).
Verdict decode_failure(Family family, long http_status, std::string_view body,
                       Duration idle = Duration{0});

// Turns a verdict into the Error a caller returns.
inline Error to_error(const Verdict& v) {
    return Error{v.code, v.message};
}

}  // namespace pb::oauth
