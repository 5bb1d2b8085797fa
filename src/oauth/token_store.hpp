// Where a profile's sign-in lives between runs. The interface is what the
// OAuth core needs; the encrypted SQLite store (src/store) implements it for
// the product, MemoryTokenStore here serves tests and embedders that keep
// nothing on disk.
//
// The contract that keeps a grant from being lost: save() replaces the whole
// TokenSet atomically and durably before it returns, and the token manager
// saves a rotated refresh token before it hands out the access token that
// came with it. After a crash the store holds the old set or the new one,
// whole. The one window no client can close is a crash between the
// provider's answer and save(); the lock and re-read around every refresh
// (token_manager.hpp) make sure it is never widened by a second redeemer.
#pragma once

#include <map>
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
};

class MemoryTokenStore final : public TokenStore {
  public:
    Result<std::optional<TokenSet>> load(std::string_view profile) override;
    Result<void> save(std::string_view profile, const TokenSet& tokens) override;
    Result<void> remove(std::string_view profile) override;

    int saves() const;

  private:
    mutable std::mutex mu_;
    std::map<std::string, TokenSet, std::less<>> sets_;
    int saves_ = 0;
};

}  // namespace pb::oauth
