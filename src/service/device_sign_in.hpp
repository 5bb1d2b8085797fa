// The one driver of a device-code sign-in (RFC 8628) for the command line,
// serve and the web page: the flow itself (oauth/sign_in.hpp), the profile's
// pending record (pending.hpp) and the tokens it ends with. The callers only
// show what happens: `signin` prints, serve logs, the page updates its
// status.
//
// The record says which sign-in of a profile is the current one. A new flow
// writes it, with its own nonce, once the provider has handed out the code;
// after every later answer the flow reads it again and stops when another
// nonce is there (a newer sign-in, from any of the three) or none is (signed
// out). At the end it erases its own record only. In hand-over mode
// (`signin --no-wait`) the record also carries the device code and the flow
// stops once the code is shown; serve resumes it from the record.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "oauth/device_flow.hpp"
#include "oauth/grants.hpp"
#include "oauth/http.hpp"
#include "oauth/sign_in.hpp"
#include "oauth/token_store.hpp"
#include "service/pending.hpp"

namespace pb::service {

// What the driver works with; everything outlives the run.
struct DeviceSignInEnv {
    oauth::HttpClient& http;
    const Clock& clock;
    // The caller's way to stop the flow (serve stopping, the page starting
    // another one): a wait that returns false ends the run as `stopped`.
    oauth::Waiter& waiter;
    PendingRecords& records;
    // Its lock keeps a sign-in from interleaving with a refresh.
    oauth::TokenStore& tokens;
    // Who must sign in (registered_address): tokens of another account are
    // not kept. Empty: whoever signs in.
    std::string expected_account;
};

// Scan to My Email: a user's sign-in is kept only when the account that
// signed in is the user's registered address. Each name the ID token gives
// (email, preferred_username, upn) is compared, case-insensitively: which
// one carries the address differs by provider (Microsoft's
// preferred_username is the UPN and its email claim is optional; Google and
// most OIDC servers send email). Fails with 370 saying who signed in and who
// should have; with no name in the answer at all, says to ask for the
// openid and email scopes.
Result<void> check_signed_in_account(const oauth::TokenResponse& tokens, std::string_view expected);

// The address a profile's sign-in must be: a registered user's email for
// user:NAME; empty for email and fax (any account of the organization).
std::string registered_address(store::Store& store, std::string_view profile);

// What the caller shows. Both run on the thread of the run.
struct DeviceSignInEvents {
    // Once, in a new flow, when the code is out and the record written:
    // show flow.message() and flow.authorization().
    std::function<void(const oauth::DeviceFlow&)> code_shown;
    // After every later answer that does not end the flow, while the record
    // is still this flow's (waiting, or retrying after a network error).
    std::function<void(const oauth::DeviceFlow&)> answered;
};

enum class DeviceSignInMode {
    wait,       // poll until the sign-in ends
    hand_over,  // record the device code and stop once the code is shown
};

struct DeviceSignInOutcome {
    enum class End {
        signed_in,    // the tokens are stored; `account` is who signed in
        handed_over,  // the code is shown and the record carries the device code
        replaced,     // a newer sign-in's record (or none) took this one's place
        failed,       // `error` says why: declined, expired, the provider, the store
        stopped,      // the caller's waiter was cancelled
    };
    End end = End::failed;
    std::string account;
    // Set for failed, replaced and stopped (360 for the last two).
    std::optional<Error> error;
    // Where the flow ended (denied, code_expired, ...), for callers that
    // name the provider's error. signed_in when only storing the tokens
    // failed.
    oauth::DeviceFlow::State state = oauth::DeviceFlow::State::start;
};

// A new flow: asks the provider for a code, writes the record under a fresh
// nonce, and then waits or hands over.
DeviceSignInOutcome start_device_sign_in(const std::string& profile, const oauth::Client& client,
                                         DeviceSignInMode mode, Random& rng,
                                         const DeviceSignInEnv& env,
                                         const DeviceSignInEvents& events = {});

// The flow a hand-over left in `record` (its device code), polled to its
// end under the record's nonce. Stopped, it leaves the record in place, so
// the next serve picks the flow up again while the code is valid.
DeviceSignInOutcome resume_device_sign_in(const std::string& profile, const oauth::Client& client,
                                          const PendingSignIn& record, const DeviceSignInEnv& env,
                                          const DeviceSignInEvents& events = {});

}  // namespace pb::service
