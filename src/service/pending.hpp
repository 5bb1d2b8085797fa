// A device-code sign-in under way, as the state directory records it
// ("pending:PROFILE", sealed). Written by whoever asked for the code; a newer
// sign-in of the profile overwrites it, and a flow that finds a record with
// another nonce stops. With `signin --no-wait` the record also carries the
// device code, and serve polls for it (the command has exited).
#pragma once

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/secret.hpp"
#include "oauth/device_flow.hpp"
#include "store/store.hpp"

namespace pb::service {

struct PendingSignIn {
    std::string nonce;  // which flow owns the record
    std::string user_code;
    std::string verification_uri;
    TimePoint expires_at{};
    Duration interval{};
    // Set only when serve is to poll (`signin --no-wait`).
    std::optional<Secret> device_code;
};

Result<void> put_pending(store::Store& store, const std::string& profile, const PendingSignIn& p);
Result<std::optional<PendingSignIn>> get_pending(store::Store& store, const std::string& profile);
// Removes the record when it is still the one of `nonce`.
void erase_pending(store::Store& store, const std::string& profile, const std::string& nonce);
// Removes whatever record the profile has (signout).
void erase_pending(store::Store& store, const std::string& profile);

// The record of a flow that showed `a`.
PendingSignIn pending_for(const oauth::DeviceAuthorization& a, std::string nonce);
// The authorization a poller resumes (device code included).
oauth::DeviceAuthorization authorization_of(const PendingSignIn& p);

}  // namespace pb::service
