// Who is at the other end of the web page: sessions (random ids, a CSRF
// token each, an idle timeout) and the throttle that slows down password
// guessing. In memory on purpose: a restart logs everyone out, which is what
// an administrator expects of a device.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace pb::web {

struct Session {
    std::string id;      // the cookie value: 256 random bits
    std::string csrf;    // the hidden field every form of this session carries
    bool admin = false;  // logged in (a visitor gets a session to log in with)
    std::string flash;   // a problem for the next page shown (after a redirect)
    std::string notice;  // a success message for the next page shown
    TimePoint last_seen{};
};

class Sessions {
  public:
    static constexpr std::size_t max_sessions = 256;

    Sessions(const Clock& clock, Random& rng, Duration idle_timeout)
        : clock_(clock), rng_(rng), idle_(idle_timeout) {}

    // A new anonymous session. When the table is full the least recently
    // seen one goes, so a flood of visitors cannot grow memory.
    Session& create();
    // The live session with this id, its idle clock restarted; nullptr when
    // unknown or idle too long (then it is dropped).
    Session* touch(std::string_view id);
    // After a successful login: a fresh id and CSRF token, so an id a visitor
    // was given (or planted) before logging in is worth nothing after.
    Session& promote(std::string_view id);
    void end(std::string_view id);

    Duration idle_timeout() const noexcept { return idle_; }
    std::size_t size() const noexcept { return sessions_.size(); }

  private:
    const Clock& clock_;
    Random& rng_;
    Duration idle_;
    std::map<std::string, Session, std::less<>> sessions_;
};

// Per client address: after `free_attempts` wrong passwords each further one
// doubles the wait before the next attempt is even checked, up to
// `max_delay`. A right password clears the record.
class LoginThrottle {
  public:
    static constexpr int free_attempts = 3;
    static constexpr Duration first_delay = std::chrono::seconds{2};
    static constexpr Duration max_delay = std::chrono::minutes{15};
    static constexpr std::size_t max_clients = 4096;

    explicit LoginThrottle(const Clock& clock) : clock_(clock) {}

    // How long this client must still wait; nullopt when it may try now.
    std::optional<Duration> wait(std::string_view client) const;
    void failed(std::string_view client);
    void succeeded(std::string_view client);

  private:
    struct Record {
        int failures = 0;
        TimePoint blocked_until{};
    };
    const Clock& clock_;
    std::map<std::string, Record, std::less<>> clients_;
};

}  // namespace pb::web
