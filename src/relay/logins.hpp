// Device account logins (relay-users), with a cache of verified ones and a
// memory of failed ones.
//
// A device that opens one connection per scan would pay the 600000-round
// PBKDF2 of every login, some 0.3 s of a core each time. A login that
// verified is remembered under an HMAC, with a key made at start and kept
// in memory only, of the user, the password and the stored hash record: the
// password itself is never kept, and since the stored record is part of
// the key, changing the password or re-adding the user (a new salt) makes
// the old entry useless at once, in this process or another. A removed
// user has no record. The cache is bounded and forgets the least recently
// used login first. Failed logins are not cached: guessing costs the full
// hash every time.
//
// On a hostile LAN the slow hash is also what a guesser uses to starve the
// devices, so: failures are counted per client address and per (client,
// user), across connections; each failure is answered later than the last
// one (the caller waits, not a thread), and past a limit the client is
// refused without a check until its failures are old. A cached login is
// let in before any of that is asked, so a guesser can neither slow down
// nor lock out a device that logged in before. At most a few slow checks
// run at once; more are told to try again later. An unknown user costs the
// same hash as a known one (against a dummy record), so that the time of a
// refusal does not tell which device accounts exist. A name that no
// account can have is refused before the store is asked.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

namespace pb::relay {

// The limits on failed logins; defaults documented in README.md.
struct LoginLimits {
    std::size_t max_user_failures = 10;               // per (client, user) before 421
    std::size_t max_client_failures = 30;             // per client address, any users, before 421
    Duration forget_after{std::chrono::minutes{15}};  // since a key's last failure
    Duration first_delay{std::chrono::seconds{1}};    // doubled on each further failure
    Duration max_delay{std::chrono::seconds{8}};
    std::size_t max_slow_checks = 2;    // PBKDF2 at once, all clients together
    std::size_t max_remembered = 4096;  // failure records kept (clients and pairs)
};

struct LoginVerdict {
    enum Kind {
        ok,      // let in (never delayed)
        bad,     // wrong user or password: answer 535 after `delay`
        locked,  // too many failures from this client (for this user): 421 and close
        busy,    // too many checks running: 454, try again
    };
    Kind kind = bad;
    Duration delay{0};
};

class Logins {
  public:
    // The stored hash record of a device account, nullopt when none.
    using Lookup = std::function<Result<std::optional<std::string>>(const std::string& user)>;
    // The slow check (core/crypto verify_password).
    using Verify = std::function<bool(const Secret& password, std::string_view stored)>;

    // `dummy` is a record of the same kind and cost as the real ones, hashed
    // against when the user is unknown.
    Logins(Lookup lookup, Verify verify, Random& rng, const Clock& clock, std::string dummy,
           LoginLimits limits = {}, std::size_t capacity = 1024);

    // Thread-safe; the slow check runs outside the lock.
    Result<LoginVerdict> check(const std::string& client, const std::string& user,
                               const Secret& password);

    std::size_t cached() const;
    std::size_t slow_checks() const;  // how often the slow hash ran (tests, stats)

  private:
    struct Failures {
        std::size_t count = 0;
        TimePoint last{};
    };
    std::string digest(const std::string& user, const Secret& password,
                       const std::string& stored) const;
    // Under mu_: the failures of `key` that still count.
    std::size_t failures(const std::string& key, TimePoint now);
    std::size_t record_failure(const std::string& key, TimePoint now);
    Duration delay_for(std::size_t failures) const;

    Lookup lookup_;
    Verify verify_;
    const Clock& clock_;
    std::string dummy_;
    LoginLimits limits_;
    std::array<unsigned char, 32> key_{};
    std::size_t capacity_;
    mutable std::mutex mu_;
    std::list<std::string> order_;  // most recently used first
    std::unordered_map<std::string, std::list<std::string>::iterator> entries_;
    std::map<std::string, Failures> failures_;  // "c " + client, "u " + client + " " + user
    std::size_t running_ = 0;                   // slow checks under way
    std::size_t slow_checks_ = 0;
};

// The shortest password relay-users add accepts. Shorter ones set before
// keep working; serve warns when a device logs in with one.
inline constexpr std::size_t kMinDevicePassword = 12;

// The syntax of a device account name (relay-users add), checked before
// the store is asked.
bool valid_device_account(std::string_view user);

}  // namespace pb::relay
