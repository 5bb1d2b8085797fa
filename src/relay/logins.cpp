#include "relay/logins.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <span>

#include "core/settings.hpp"

namespace pb::relay {

bool valid_device_account(std::string_view user) {
    return settings::valid_user_name(user);  // what relay-users add accepts
}

Logins::Logins(Lookup lookup, Verify verify, Random& rng, const Clock& clock, std::string dummy,
               LoginLimits limits, std::size_t capacity)
    : lookup_(std::move(lookup)),
      verify_(std::move(verify)),
      clock_(clock),
      dummy_(std::move(dummy)),
      limits_(limits),
      capacity_(capacity) {
    rng.fill(std::as_writable_bytes(std::span(key_)));
}

std::string Logins::digest(const std::string& user, const Secret& password,
                           const std::string& stored) const {
    // Lengths first, so that no two (user, password, record) triples give
    // the same input.
    std::string input;
    const std::string_view pw = password.reveal();
    input.reserve(user.size() + pw.size() + stored.size() + 32);
    for (std::size_t n : {user.size(), pw.size(), stored.size()}) {
        input += std::to_string(n);
        input += ':';
    }
    input.append(user).append(pw).append(stored);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len);
    OPENSSL_cleanse(input.data(), input.size());
    return std::string(reinterpret_cast<const char*>(out), len);
}

std::size_t Logins::failures(const std::string& key, TimePoint now) {
    const auto it = failures_.find(key);
    if (it == failures_.end()) return 0;
    if (now - it->second.last >= limits_.forget_after) {
        failures_.erase(it);
        return 0;
    }
    return it->second.count;
}

std::size_t Logins::record_failure(const std::string& key, TimePoint now) {
    const std::size_t before = failures(key, now);
    if (before == 0 && failures_.size() >= limits_.max_remembered) {
        // Full: forget what is old, then, if need be, the quietest key. A
        // flood of new keys can push out a client's record, but every new
        // key is one more failure counted against the flooding client.
        std::erase_if(failures_,
                      [&](const auto& kv) { return now - kv.second.last >= limits_.forget_after; });
        if (failures_.size() >= limits_.max_remembered)
            failures_.erase(std::ranges::min_element(
                failures_, {}, [](const auto& kv) { return kv.second.last; }));
    }
    Failures& f = failures_[key];
    f.count = before + 1;
    f.last = now;
    return f.count;
}

Duration Logins::delay_for(std::size_t n) const {
    Duration d = limits_.first_delay;
    for (std::size_t i = 1; i < n && d < limits_.max_delay; ++i) d *= 2;
    return std::min(d, limits_.max_delay);
}

Result<LoginVerdict> Logins::check(const std::string& client, const std::string& user,
                                   const Secret& password) {
    const std::string client_key = "c " + client;
    const std::string user_key = "u " + client + " " + user;
    const auto refuse = [&]() -> LoginVerdict {
        const TimePoint now = clock_.now();
        std::lock_guard lock(mu_);
        const std::size_t n =
            std::max(record_failure(client_key, now),
                     valid_device_account(user) ? record_failure(user_key, now) : std::size_t{0});
        return {LoginVerdict::bad, delay_for(n)};
    };
    if (!valid_device_account(user)) return refuse();

    auto stored = lookup_(user);
    if (!stored) return std::move(stored).error();
    const std::string key = *stored ? digest(user, password, **stored) : std::string();
    {
        std::lock_guard lock(mu_);
        if (*stored) {
            if (auto it = entries_.find(key); it != entries_.end()) {
                order_.splice(order_.begin(), order_, it->second);
                return LoginVerdict{LoginVerdict::ok, {}};
            }
        }
        const TimePoint now = clock_.now();
        if (failures(client_key, now) >= limits_.max_client_failures ||
            failures(user_key, now) >= limits_.max_user_failures)
            return LoginVerdict{LoginVerdict::locked, {}};
        if (running_ >= limits_.max_slow_checks) return LoginVerdict{LoginVerdict::busy, {}};
        ++running_;
        ++slow_checks_;
    }
    bool ok = false;
    try {
        ok = verify_(password, *stored ? std::string_view(**stored) : std::string_view(dummy_));
    } catch (...) {
        std::lock_guard lock(mu_);
        --running_;
        throw;
    }
    {
        std::lock_guard lock(mu_);
        --running_;
    }
    if (!ok || !*stored) return refuse();
    std::lock_guard lock(mu_);
    failures_.erase(user_key);  // this device knows its password; the client's count stays
    if (entries_.contains(key)) return LoginVerdict{LoginVerdict::ok, {}};
    order_.push_front(key);
    entries_.emplace(key, order_.begin());
    while (entries_.size() > capacity_) {
        entries_.erase(order_.back());
        order_.pop_back();
    }
    return LoginVerdict{LoginVerdict::ok, {}};
}

std::size_t Logins::cached() const {
    std::lock_guard lock(mu_);
    return entries_.size();
}

std::size_t Logins::slow_checks() const {
    std::lock_guard lock(mu_);
    return slow_checks_;
}

}  // namespace pb::relay
