// The product's TokenStore: each profile's TokenSet kept as one sealed value
// ("token:PROFILE") in the store, so a save is one committed write (atomic
// and durable) and the tokens are encrypted at rest. The refresh lock is
// the store's named lock "oauth-PROFILE".
#pragma once

#include "oauth/token_store.hpp"
#include "store/store.hpp"

namespace pb::service {

class SealedTokenStore final : public oauth::TokenStore {
  public:
    explicit SealedTokenStore(store::Store& store) : store_(store) {}
    Result<std::optional<oauth::TokenSet>> load(std::string_view profile) override;
    Result<void> save(std::string_view profile, const oauth::TokenSet& tokens) override;
    Result<void> remove(std::string_view profile) override;
    Result<std::unique_ptr<Lock>> lock(std::string_view profile) override;

  private:
    store::Store& store_;
};

// The log line for a stored sign-in that changed (signed in, refreshed,
// keep-alive failed, lapsed, revoked); nullopt when nothing worth a line
// changed. Names the profile and account, never a token.
std::optional<std::string> sign_in_event(std::string_view profile,
                                         const std::optional<oauth::TokenSet>& before,
                                         const oauth::TokenSet& after);

// The record's JSON (secrets inside; it is only ever stored sealed).
std::string encode_token_set(const oauth::TokenSet& t);
std::optional<oauth::TokenSet> decode_token_set(std::string_view json);

}  // namespace pb::service
