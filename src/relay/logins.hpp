// Device account logins (relay-users), with a cache of verified ones.
//
// A device that opens one connection per scan would pay the 600000-round
// PBKDF2 of every login, some 0.3 s of a core each time. A login that
// verified is remembered under an HMAC, with a key made at start and kept
// in memory only, of the user, the password and the stored hash record: the
// password itself is never kept, and since the stored record is part of
// the key, changing the password or re-adding the user (a new salt) makes
// the old entry useless at once, in this process or another. A removed
// user has no record and is refused before the cache is asked. The cache
// is bounded and forgets the least recently used login first. Failed
// logins are not cached: guessing costs the full hash every time.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

namespace pb::relay {

class Logins {
  public:
    // The stored hash record of a device account, nullopt when none.
    using Lookup = std::function<Result<std::optional<std::string>>(const std::string& user)>;
    // The slow check (core/crypto verify_password).
    using Verify = std::function<bool(const Secret& password, std::string_view stored)>;

    Logins(Lookup lookup, Verify verify, Random& rng, std::size_t capacity = 1024);

    // Thread-safe; the slow check runs outside the lock.
    Result<bool> check(const std::string& user, const Secret& password);

    std::size_t cached() const;
    std::size_t slow_checks() const;  // how often the slow hash ran (tests, stats)

  private:
    std::string digest(const std::string& user, const Secret& password,
                       const std::string& stored) const;

    Lookup lookup_;
    Verify verify_;
    std::array<unsigned char, 32> key_{};
    std::size_t capacity_;
    mutable std::mutex mu_;
    std::list<std::string> order_;  // most recently used first
    std::unordered_map<std::string, std::list<std::string>::iterator> entries_;
    std::size_t slow_checks_ = 0;
};

}  // namespace pb::relay
