// Running a sign-in to its end over real I/O: the device flow machine driven
// over an HttpClient with a wait that can be cancelled (a second `signin` of
// the same profile, or the web page's Cancel), and the code exchange that
// finishes the PKCE flow. What to do with the tokens is the caller's
// (TokenManager::complete_sign_in).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

#include "core/clock.hpp"
#include "oauth/device_flow.hpp"
#include "oauth/grants.hpp"
#include "oauth/http.hpp"

namespace pb::oauth {

// Waits until a time of `Clock`, or until cancelled.
class Waiter {
  public:
    virtual ~Waiter() = default;
    // False when cancelled (before or during the wait).
    virtual bool wait_until(TimePoint t) = 0;
};

// The real one: sleeps on a condition variable, so cancel() from any thread
// ends the wait at once.
class CancellableWaiter final : public Waiter {
  public:
    explicit CancellableWaiter(const Clock& clock) : clock_(clock) {}
    bool wait_until(TimePoint t) override;
    void cancel();
    bool cancelled() const;

  private:
    const Clock& clock_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool cancelled_ = false;
};

// Drives `flow` until it is done. `on_change` sees the flow after every
// answer (the first time in `waiting`: show flow.message()). Returns the
// tokens, or the flow's error (360 when declined, expired or cancelled).
Result<TokenResponse> run_device_flow(DeviceFlow& flow, HttpClient& http, const Clock& clock,
                                      Waiter& waiter,
                                      const std::function<void(const DeviceFlow&)>& on_change = {});

// Redeems an authorization code with its PKCE verifier.
Result<TokenResponse> exchange_code(HttpClient& http, const Client& client, const Secret& code,
                                    const Secret& verifier, TimePoint now);

}  // namespace pb::oauth
