// A device-code sign-in under way, as the state directory records it
// ("pending:PROFILE", sealed). Written by whoever asked for the code; a newer
// sign-in of the profile overwrites it, and a flow that finds a record with
// another nonce stops. With `signin --no-wait` the record also carries the
// device code, and serve polls for it (the command has exited).
//
// The command line, serve and the web page all keep these records, so a
// sign-in started in one of them ends one that is out in another.
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

// The records as the device sign-in driver (device_sign_in.hpp) reads and
// writes them: an interface, so that the web page can serialise them with
// the rest of its store access.
class PendingRecords {
  public:
    virtual ~PendingRecords() = default;
    virtual Result<void> put(const std::string& profile, const PendingSignIn& p) = 0;
    virtual Result<std::optional<PendingSignIn>> get(const std::string& profile) = 0;
    // Removes the record when it is still the one of `nonce`.
    virtual void erase(const std::string& profile, const std::string& nonce) = 0;
};

// The records in the state database (the functions above).
class StorePendingRecords final : public PendingRecords {
  public:
    explicit StorePendingRecords(store::Store& store) : store_(store) {}
    Result<void> put(const std::string& profile, const PendingSignIn& p) override {
        return put_pending(store_, profile, p);
    }
    Result<std::optional<PendingSignIn>> get(const std::string& profile) override {
        return get_pending(store_, profile);
    }
    void erase(const std::string& profile, const std::string& nonce) override {
        erase_pending(store_, profile, nonce);
    }

  private:
    store::Store& store_;
};

// The record of a flow that showed `a`.
PendingSignIn pending_for(const oauth::DeviceAuthorization& a, std::string nonce);
// The authorization a poller resumes (device code included).
oauth::DeviceAuthorization authorization_of(const PendingSignIn& p);

}  // namespace pb::service
