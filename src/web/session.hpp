// Who is at the other end of the web page: the administrator's sessions
// (random ids, a CSRF token each, an idle timeout and an absolute lifetime),
// the login form's token, which needs no session, and the throttle that
// slows down password guessing. In memory on purpose: a restart logs
// everyone out, which is what an administrator expects of a device.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace pb::web {

// A logged-in administrator. Only a right password makes one, so visitors
// can neither fill the table nor push the administrator out of it.
struct Session {
    std::string id;      // the cookie value: 256 random bits
    std::string csrf;    // the hidden field every form of this session carries
    std::string flash;   // a problem for the next page shown (after a redirect)
    std::string notice;  // a success message for the next page shown
    // The stored password hash it logged in under: once the stored one is
    // another (changed here or by `admin-password set`), the session ends.
    std::string password;
    TimePoint created{};
    TimePoint last_seen{};
};

class Sessions {
  public:
    // Each one needs the password, so the cap only bounds memory.
    static constexpr std::size_t max_sessions = 256;
    // However active: a stolen cookie is not worth more than a working day.
    static constexpr Duration max_lifetime = std::chrono::hours{12};

    Sessions(const Clock& clock, Random& rng, Duration idle_timeout)
        : clock_(clock), rng_(rng), idle_(idle_timeout) {}

    // The live session with this id, its idle clock restarted; nullptr when
    // unknown, idle too long or past its lifetime (then it is dropped).
    Session* touch(std::string_view id);
    // After a successful login: a new session with a fresh id and CSRF
    // token; the one named `previous`, if any, ends. When the table is full
    // the least recently seen one goes. `password`: Session::password.
    Session& login(std::string_view previous, std::string password);
    void end(std::string_view id);
    // After a password change: whoever logged in with the old one is out.
    void end_all_but(std::string_view id);

    Duration idle_timeout() const noexcept { return idle_; }
    std::size_t size() const noexcept { return sessions_.size(); }

  private:
    bool expired(const Session& s, TimePoint now) const {
        return now - s.last_seen > idle_ || now - s.created > max_lifetime;
    }

    const Clock& clock_;
    Random& rng_;
    Duration idle_;
    std::map<std::string, Session, std::less<>> sessions_;
};

// The login form's CSRF token, kept by nobody: its time of issue and an
// HMAC, under a key drawn at start, of that time and the browser's
// pre-login cookie. A visitor costs no memory, and a page of another site
// cannot post the form, since the SameSite cookie does not go with it.
class LoginForms {
  public:
    // Long enough for a form left open over a meeting.
    static constexpr Duration lifetime = std::chrono::hours{1};

    LoginForms(const Clock& clock, Random& rng);

    // The token for a browser holding `cookie`.
    std::string issue(std::string_view cookie) const;
    // Issued here, for this cookie, within its lifetime.
    bool valid(std::string_view token, std::string_view cookie) const;

  private:
    std::string mac(std::int64_t issued, std::string_view cookie) const;

    const Clock& clock_;
    std::string key_;
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

// At most `per_window` requests per client address in any `window`: the My
// Email page, which anyone can reach and which costs a request to the
// identity provider each time.
class RequestLimit {
  public:
    static constexpr std::size_t max_clients = 4096;

    RequestLimit(const Clock& clock, std::size_t per_window, Duration window)
        : clock_(clock), per_window_(per_window), window_(window) {}

    // Counts a request; nullopt when it may go ahead, else how long until
    // the client may ask again.
    std::optional<Duration> take(std::string_view client);

  private:
    const Clock& clock_;
    std::size_t per_window_;
    Duration window_;
    std::map<std::string, std::deque<TimePoint>, std::less<>> clients_;
};

}  // namespace pb::web
