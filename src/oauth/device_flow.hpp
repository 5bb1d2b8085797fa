// The device authorization grant (RFC 8628) as a pure state machine: it says
// what to send and until when to wait, and is told what came back. It does
// no I/O and reads no clock (the caller passes `now`), so every timing rule
// (interval, slow_down, expiry) is tested with a manual clock, and the same
// machine runs under the CLI, the web page and the tests (sign_in.hpp drives
// it over an HttpClient).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "oauth/grants.hpp"
#include "oauth/http.hpp"
#include "oauth/token.hpp"

namespace pb::oauth {

// What the device authorization endpoint gave us (RFC 8628 3.2).
struct DeviceAuthorization {
    Secret device_code;
    std::string user_code;
    std::string verification_uri;           // Google calls it verification_url
    std::string verification_uri_complete;  // optional; for a QR code
    Duration interval{};
    TimePoint expires_at{};
};

// RFC 8628 3.2: "If no value is provided, clients MUST use 5".
inline constexpr Duration default_poll_interval = std::chrono::seconds{5};
// RFC 8628 3.5: slow_down adds 5 s, for this and every later poll.
inline constexpr Duration slow_down_step = std::chrono::seconds{5};

// Reads a device authorization response (200). 642 when it is not one.
Result<DeviceAuthorization> parse_device_authorization(std::string_view body, TimePoint now);

// The manual's sentence, exactly.
std::string sign_in_message(std::string_view verification_uri, std::string_view user_code);

class DeviceFlow {
  public:
    enum class State {
        start,         // nothing sent yet
        requesting,    // the device authorization request is out
        waiting,       // the code is shown; the next poll is due at poll_at()
        polling,       // a token request is out
        retrying,      // the last poll got no answer (network, 5xx): polling goes on
        signed_in,     // done: tokens() holds them
        denied,        // done: access_denied / authorization_declined
        code_expired,  // done: expired_token, or expires_in passed while waiting
        bad_code,      // done: bad_verification_code
        failed,        // done: could not start, or an answer that ends the flow
        cancelled,     // done: cancel() was called
    };

    struct Step {
        enum class Kind { send, wait, done };
        Kind kind = Kind::done;
        HttpRequest request;  // for send
        TimePoint until{};    // for wait
    };

    explicit DeviceFlow(Client client);
    // A flow whose code another process asked for and showed (`signin
    // --no-wait`, polled by serve): it starts in `waiting`, polling after
    // one interval; expiry and slow_down work as in a flow of its own.
    static DeviceFlow resume(Client client, DeviceAuthorization authorization, TimePoint now);

    // What to do now: send a request (then call on_answer with what came
    // back), wait until a time (then call next again), or stop.
    Step next(TimePoint now);
    // The answer to the request the last send step asked for.
    void on_answer(Result<HttpResponse> answer, TimePoint now);
    // Ends the flow; an answer still in flight is then ignored.
    void cancel();

    State state() const noexcept { return state_; }
    bool done() const noexcept;
    // For people: the manual's sentence while waiting; otherwise what the
    // state means, with the reason.
    std::string message() const;
    const std::optional<DeviceAuthorization>& authorization() const noexcept { return auth_; }
    Duration interval() const noexcept { return interval_; }
    TimePoint poll_at() const noexcept { return poll_at_; }
    // Set in retrying and in every failed end state; its code is what the
    // caller reports (360 for declined / expired / cancelled).
    const std::optional<Error>& error() const noexcept { return error_; }
    // The tokens, once signed_in.
    const std::optional<TokenResponse>& tokens() const noexcept { return tokens_; }

  private:
    void enter(State to);
    void end(State to, Errc code, std::string detail);
    void on_authorization(Result<HttpResponse> answer, TimePoint now);
    void on_poll(Result<HttpResponse> answer, TimePoint now);
    void schedule(TimePoint now) { poll_at_ = now + interval_; }

    Client client_;
    State state_ = State::start;
    std::optional<DeviceAuthorization> auth_;
    Duration interval_ = default_poll_interval;
    TimePoint poll_at_{};
    std::optional<Error> error_;
    std::optional<TokenResponse> tokens_;
};

std::string_view to_string(DeviceFlow::State s) noexcept;

}  // namespace pb::oauth
