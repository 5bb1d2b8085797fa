#include "oauth/sign_in.hpp"

namespace pb::oauth {

bool CancellableWaiter::wait_until(TimePoint t) {
    std::unique_lock lock(mu_);
    // The deadline is on the injected clock; the sleep is on the steady one,
    // so a wall-clock step cannot stretch or cut a poll interval.
    const auto left = t - clock_.now();
    cv_.wait_for(lock, left, [this] { return cancelled_; });
    return !cancelled_;
}

void CancellableWaiter::cancel() {
    {
        std::lock_guard lock(mu_);
        cancelled_ = true;
    }
    cv_.notify_all();
}

bool CancellableWaiter::cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
}

Result<TokenResponse> run_device_flow(DeviceFlow& flow, HttpClient& http, const Clock& clock,
                                      Waiter& waiter,
                                      const std::function<void(const DeviceFlow&)>& on_change) {
    for (;;) {
        auto step = flow.next(clock.now());
        switch (step.kind) {
            case DeviceFlow::Step::Kind::send: {
                auto answer = send_to_identity_provider(http, step.request);
                flow.on_answer(std::move(answer), clock.now());
                if (on_change) on_change(flow);
                break;
            }
            case DeviceFlow::Step::Kind::wait:
                if (!waiter.wait_until(step.until)) {
                    flow.cancel();
                    if (on_change) on_change(flow);
                }
                break;
            case DeviceFlow::Step::Kind::done:
                if (flow.tokens()) return *flow.tokens();
                return *flow.error();
        }
    }
}

Result<TokenResponse> exchange_code(HttpClient& http, const Client& client, const Secret& code,
                                    const Secret& verifier, TimePoint now) {
    auto answer = send_to_identity_provider(http, code_exchange_request(client, code, verifier));
    if (!answer) return std::move(answer).error();
    return read_token_answer(client, *answer, now);
}

}  // namespace pb::oauth
