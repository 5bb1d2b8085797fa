#include "oauth/token_store.hpp"

namespace pb::oauth {

Result<std::optional<TokenSet>> MemoryTokenStore::load(std::string_view profile) {
    std::lock_guard lock(mu_);
    const auto it = sets_.find(profile);
    if (it == sets_.end()) return std::optional<TokenSet>{};
    return std::optional<TokenSet>{it->second};
}

Result<void> MemoryTokenStore::save(std::string_view profile, const TokenSet& tokens) {
    std::lock_guard lock(mu_);
    sets_.insert_or_assign(std::string(profile), tokens);
    ++saves_;
    return {};
}

Result<void> MemoryTokenStore::remove(std::string_view profile) {
    std::lock_guard lock(mu_);
    if (const auto it = sets_.find(profile); it != sets_.end()) sets_.erase(it);
    return {};
}

Result<std::unique_ptr<TokenStore::Lock>> MemoryTokenStore::lock(std::string_view profile) {
    struct Held final : Lock {
        explicit Held(std::mutex& m) : lock(m) {}
        std::unique_lock<std::mutex> lock;
    };
    std::mutex* m = nullptr;
    {
        std::lock_guard lock(mu_);
        auto it = locks_.find(profile);
        if (it == locks_.end())
            it = locks_.emplace(std::string(profile), std::make_unique<std::mutex>()).first;
        m = it->second.get();
    }
    return std::unique_ptr<Lock>(std::make_unique<Held>(*m));
}

int MemoryTokenStore::saves() const {
    std::lock_guard lock(mu_);
    return saves_;
}

}  // namespace pb::oauth
