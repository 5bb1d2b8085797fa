// Sessions and login throttling (see session.hpp).
#include "web/session.hpp"

#include <algorithm>

namespace pb::web {

Session& Sessions::create() {
    const auto now = clock_.now();
    std::erase_if(sessions_, [&](const auto& kv) { return now - kv.second.last_seen > idle_; });
    if (sessions_.size() >= max_sessions) {
        auto oldest = std::ranges::min_element(sessions_, {},
                                               [](const auto& kv) { return kv.second.last_seen; });
        sessions_.erase(oldest);
    }
    Session s;
    s.id = random_base64url(rng_, 32);
    s.csrf = random_base64url(rng_, 32);
    s.last_seen = now;
    const std::string id = s.id;
    return sessions_.insert_or_assign(id, std::move(s)).first->second;
}

Session* Sessions::touch(std::string_view id) {
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return nullptr;
    const auto now = clock_.now();
    if (now - it->second.last_seen > idle_) {
        sessions_.erase(it);
        return nullptr;
    }
    it->second.last_seen = now;
    return &it->second;
}

Session& Sessions::promote(std::string_view id) {
    end(id);
    Session& s = create();
    s.admin = true;
    return s;
}

void Sessions::end(std::string_view id) {
    if (const auto it = sessions_.find(id); it != sessions_.end()) sessions_.erase(it);
}

std::optional<Duration> LoginThrottle::wait(std::string_view client) const {
    const auto it = clients_.find(client);
    if (it == clients_.end()) return std::nullopt;
    const auto now = clock_.now();
    if (now >= it->second.blocked_until) return std::nullopt;
    return it->second.blocked_until - now;
}

void LoginThrottle::failed(std::string_view client) {
    auto it = clients_.find(client);
    if (it == clients_.end()) {
        if (clients_.size() >= max_clients) {
            // Forget the client whose block ends first: the one we least
            // need to remember.
            clients_.erase(std::ranges::min_element(
                clients_, {}, [](const auto& kv) { return kv.second.blocked_until; }));
        }
        it = clients_.emplace(std::string(client), Record{}).first;
    }
    Record& r = it->second;
    ++r.failures;
    if (r.failures < free_attempts) return;
    Duration delay = first_delay;
    for (int i = free_attempts; i < r.failures && delay < max_delay; ++i) delay *= 2;
    r.blocked_until = clock_.now() + std::min(delay, max_delay);
}

void LoginThrottle::succeeded(std::string_view client) {
    if (const auto it = clients_.find(client); it != clients_.end()) clients_.erase(it);
}

}  // namespace pb::web
