#include "relay/logins.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <span>

namespace pb::relay {

Logins::Logins(Lookup lookup, Verify verify, Random& rng, std::size_t capacity)
    : lookup_(std::move(lookup)), verify_(std::move(verify)), capacity_(capacity) {
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

Result<bool> Logins::check(const std::string& user, const Secret& password) {
    auto stored = lookup_(user);
    if (!stored) return std::move(stored).error();
    if (!*stored) return false;
    const std::string key = digest(user, password, **stored);
    {
        std::lock_guard lock(mu_);
        if (auto it = entries_.find(key); it != entries_.end()) {
            order_.splice(order_.begin(), order_, it->second);
            return true;
        }
        ++slow_checks_;
    }
    if (!verify_(password, **stored)) return false;
    std::lock_guard lock(mu_);
    if (entries_.contains(key)) return true;  // another session verified it meanwhile
    order_.push_front(key);
    entries_.emplace(key, order_.begin());
    while (entries_.size() > capacity_) {
        entries_.erase(order_.back());
        order_.pop_back();
    }
    return true;
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
