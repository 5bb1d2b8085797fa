// What the Email Server page needs from the OAuth side: start a sign-in,
// see where it stands, finish a browser (authorization code) sign-in, sign
// out. The page depends on this interface only; signin_service.cpp drives
// src/oauth behind it, and the tests use a scripted one.
//
// A sign-in runs on its own after start(): the service polls the identity
// provider while the code is out, so the page (and its script) only reads
// status().
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/settings.hpp"

namespace pb::web {

struct SignInStatus {
    enum class State { signed_out, pending, signed_in, expired, reauth_required };
    State state = State::signed_out;
    std::string account;  // once signed in

    // While pending with the device grant: what the administrator types in.
    std::string user_code;
    std::string verification_uri;
    std::string verification_uri_complete;  // the code built in, for the QR code
    TimePoint expires_at{};

    // While pending with the authorization code grant: the link to open;
    // the page then asks for the URL the browser ended on.
    std::string authorize_url;

    // Why the last sign-in failed or the sign-in lapsed, decoded for people
    // (Conditional Access, consent missing, ...). Never a token.
    std::string reason;

    // The profile signs in by itself (client credentials): with no token
    // yet, it is not "signed out".
    bool app_only = false;

    // Signed in, but it lapses for disuse within 14 days or keep-alive
    // failed: shown next to Current Status.
    std::string warning;
};

std::string_view to_string(SignInStatus::State s) noexcept;
// "Signed in" / "Signed out" as the manual shows Current Status.
std::string_view status_label(const SignInStatus& s) noexcept;

class SignInService {
  public:
    virtual ~SignInService() = default;
    // Cancels any sign-in of the profile that is out and starts a new one
    // with the profile's current settings. Returns the pending status.
    virtual Result<SignInStatus> start(std::string_view profile) = 0;
    virtual SignInStatus status(std::string_view profile) = 0;
    // Authorization code grant: the URL the browser was sent back to.
    virtual Result<SignInStatus> finish(std::string_view profile,
                                        std::string_view redirect_url) = 0;
    virtual Result<void> sign_out(std::string_view profile) = 0;
    // After the settings changed from `before`: ends every sign-in that
    // belonged to the old ones (service/replaced_sign_in.hpp), revoking it
    // at the old provider where it can. A sentence per sign-in ended, for
    // the page.
    virtual std::vector<std::string> end_replaced(const settings::Settings& before) = 0;
    // A device code from `profile`'s provider that nobody polls for: what
    // the My Email page shows for an address that is not registered, so that
    // its answer (shape, link, time taken) is the same as a real one's.
    virtual Result<SignInStatus> decoy(std::string_view profile) = 0;
};

}  // namespace pb::web
