// Sessions, the login form's token and login throttling (see session.hpp).
#include "web/session.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <span>

#include <fmt/format.h>

#include "core/encoding.hpp"
#include "core/secret.hpp"

namespace pb::web {

Session* Sessions::touch(std::string_view id) {
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return nullptr;
    const auto now = clock_.now();
    if (expired(it->second, now)) {
        sessions_.erase(it);
        return nullptr;
    }
    it->second.last_seen = now;
    return &it->second;
}

Session& Sessions::login(std::string_view previous, std::string password) {
    end(previous);
    const auto now = clock_.now();
    std::erase_if(sessions_, [&](const auto& kv) { return expired(kv.second, now); });
    if (sessions_.size() >= max_sessions) {
        sessions_.erase(std::ranges::min_element(
            sessions_, {}, [](const auto& kv) { return kv.second.last_seen; }));
    }
    Session s;
    s.id = random_base64url(rng_, 32);
    s.csrf = random_base64url(rng_, 32);
    s.password = std::move(password);
    s.created = now;
    s.last_seen = now;
    const std::string id = s.id;
    return sessions_.insert_or_assign(id, std::move(s)).first->second;
}

void Sessions::end(std::string_view id) {
    if (const auto it = sessions_.find(id); it != sessions_.end()) sessions_.erase(it);
}

void Sessions::end_all_but(std::string_view id) {
    std::erase_if(sessions_, [&](const auto& kv) { return kv.first != id; });
}

LoginForms::LoginForms(const Clock& clock, Random& rng) : clock_(clock) {
    key_.resize(32);
    rng.fill(std::as_writable_bytes(std::span(key_)));
}

std::string LoginForms::mac(std::int64_t issued, std::string_view cookie) const {
    // The cookie's length first, so that no other (time, cookie) pair gives
    // the same input.
    const std::string data = fmt::format("login-form {} {} {}", issued, cookie.size(), cookie);
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int n = 0;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &n);
    return base64url_encode(std::as_bytes(std::span(out.data(), n)));
}

std::string LoginForms::issue(std::string_view cookie) const {
    const auto issued =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
    return fmt::format("{}.{}", issued, mac(issued, cookie));
}

bool LoginForms::valid(std::string_view token, std::string_view cookie) const {
    if (cookie.empty()) return false;
    const auto dot = token.find('.');
    if (dot == std::string_view::npos) return false;
    std::int64_t issued = 0;
    const auto digits = token.substr(0, dot);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), issued);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return false;
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
    if (issued < 0 || issued > now ||
        now - issued > std::chrono::duration_cast<std::chrono::seconds>(lifetime).count())
        return false;
    return Secret::equal_constant_time(token.substr(dot + 1), mac(issued, cookie));
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

std::optional<Duration> RequestLimit::take(std::string_view client) {
    const auto now = clock_.now();
    // Forget what has left every window.
    for (auto i = clients_.begin(); i != clients_.end();) {
        auto& times = i->second;
        while (!times.empty() && now - times.front() >= window_) times.pop_front();
        i = times.empty() ? clients_.erase(i) : std::next(i);
    }
    auto it = clients_.find(client);
    if (it == clients_.end()) {
        if (clients_.size() >= max_clients) return window_;  // a flood: everyone waits
        it = clients_.emplace(std::string(client), std::deque<TimePoint>{}).first;
    }
    auto& times = it->second;
    if (times.size() >= per_window_) return times.front() + window_ - now;
    times.push_back(now);
    return std::nullopt;
}

void LoginThrottle::succeeded(std::string_view client) {
    if (const auto it = clients_.find(client); it != clients_.end()) clients_.erase(it);
}

}  // namespace pb::web
