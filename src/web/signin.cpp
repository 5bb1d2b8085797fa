// The words for a sign-in's state (signin.hpp): the API's and the status
// answer's (to_string), and the manual's Current Status (status_label).
#include "web/signin.hpp"

namespace pb::web {

std::string_view to_string(SignInStatus::State s) noexcept {
    switch (s) {
        case SignInStatus::State::signed_out:
            return "signed-out";
        case SignInStatus::State::pending:
            return "pending";
        case SignInStatus::State::signed_in:
            return "signed-in";
        case SignInStatus::State::expired:
            return "expired";
        case SignInStatus::State::reauth_required:
            return "reauth-required";
    }
    return "signed-out";
}

std::string_view status_label(const SignInStatus& s) noexcept {
    if (s.app_only && s.state == SignInStatus::State::signed_out)
        return "App-only (signs in by itself when it sends)";
    if (s.app_only && s.state == SignInStatus::State::signed_in) return "Signed in (app)";
    return s.state == SignInStatus::State::signed_in ? "Signed in" : "Signed out";
}

}  // namespace pb::web
