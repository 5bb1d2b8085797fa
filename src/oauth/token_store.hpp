// Where a profile's sign-in lives between runs. The interface is what the
// OAuth core needs; the sealed store (service/tokens.hpp over src/store)
// implements it for the product, MemoryTokenStore here serves tests and
// embedders that keep nothing on disk.
//
// The contract that keeps a grant from being lost: save() replaces the whole
// TokenSet atomically and durably before it returns, and the token manager
// saves a rotated refresh token before it hands out the access token that
// came with it. After a crash the store holds the old set or the new one,
// whole. The one window no client can close is a crash between the
// provider's answer and save(); the lock and re-read around every refresh
// (token_manager.hpp) make sure it is never widened by a second redeemer:
// lock() is that lock, across every process and instance sharing the store.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "oauth/token.hpp"

namespace pb::oauth {

class TokenStore {
  public:
    virtual ~TokenStore() = default;
    // The profile's set as last saved; nullopt when there is none (signed out).
    virtual Result<std::optional<TokenSet>> load(std::string_view profile) = 0;
    // Replaces the profile's set: atomic (old or new, whole) and durable
    // (committed, fsynced) when it returns.
    virtual Result<void> save(std::string_view profile, const TokenSet& tokens) = 0;
    // Deletes the profile's set; no error when there is none.
    virtual Result<void> remove(std::string_view profile) = 0;

    // Held while a refresh, a sign-in or a sign-out reads and writes the
    // profile's set: by one holder at a time among every process (and
    // instance) sharing the store, released when destroyed or when its
    // holder dies. Blocks until it is free.
    class Lock {
      public:
        virtual ~Lock() = default;
    };
    // The default is for a store no other process shares: nothing to take
    // beyond the token manager's own mutex (null).
    virtual Result<std::unique_ptr<Lock>> lock(std::string_view /*profile*/) {
        return std::unique_ptr<Lock>{};
    }
};

class MemoryTokenStore final : public TokenStore {
  public:
    Result<std::optional<TokenSet>> load(std::string_view profile) override;
    Result<void> save(std::string_view profile, const TokenSet& tokens) override;
    Result<void> remove(std::string_view profile) override;
    // A mutex per profile: several token managers on one MemoryTokenStore
    // exclude each other as processes on one database do.
    Result<std::unique_ptr<Lock>> lock(std::string_view profile) override;

    int saves() const;

  private:
    mutable std::mutex mu_;
    std::map<std::string, TokenSet, std::less<>> sets_;
    std::map<std::string, std::unique_ptr<std::mutex>, std::less<>> locks_;
    int saves_ = 0;
};

}  // namespace pb::oauth
