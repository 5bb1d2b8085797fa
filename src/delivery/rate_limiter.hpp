// delivery.rate_limit: at most N messages in any 60 seconds, per profile
// (Exchange Online and Outlook.com allow 30 a minute per mailbox). A sliding
// window of send times, not a token bucket: a bucket that starts full lets
// through twice the limit across one minute's boundary, and the provider
// counts the window.
#pragma once

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>

#include "core/clock.hpp"

namespace pb::delivery {

class RateLimiter {
  public:
    explicit RateLimiter(int per_minute) : limit_(per_minute) {}

    // Takes up to `want` slots at `now`; returns how many it got (0 when the
    // window is full; `want` when there is no limit).
    std::size_t acquire(TimePoint now, std::size_t want) {
        return take(now, want, [](std::size_t n) { return n; });
    }
    // Runs `claim(n)`, n being the slots free now (at most `want`), under
    // the limiter's lock, and takes a slot for each job it says it claimed
    // (at most n). A worker so holds slots only for jobs it has: another
    // never finds the window full of slots nobody will use, and never sleeps
    // a minute for them. With no limit, n is `want`. Returns the slots taken.
    template <class Claim>
    std::size_t take(TimePoint now, std::size_t want, Claim&& claim) {
        if (limit_ <= 0) return claim(want);
        std::lock_guard lock(mu_);
        expire(now);
        const std::size_t free = static_cast<std::size_t>(limit_) -
                                 std::min(sent_.size(), static_cast<std::size_t>(limit_));
        if (free == 0) return 0;
        const std::size_t got = std::min<std::size_t>(claim(std::min(free, want)), free);
        for (std::size_t i = 0; i < got; ++i) sent_.push_back(now);
        return got;
    }
    // Gives back slots of jobs that went back unsent (delivery stopped).
    void release(std::size_t n) {
        if (limit_ <= 0) return;
        std::lock_guard lock(mu_);
        for (; n > 0 && !sent_.empty(); --n) sent_.pop_back();
    }
    // When the next slot frees up; nullopt when one is free now.
    std::optional<TimePoint> next_free(TimePoint now) {
        if (limit_ <= 0) return std::nullopt;
        std::lock_guard lock(mu_);
        expire(now);
        if (sent_.size() < static_cast<std::size_t>(limit_)) return std::nullopt;
        return sent_.front() + kWindow;
    }

  private:
    static constexpr Duration kWindow = std::chrono::minutes{1};
    void expire(TimePoint now) {
        while (!sent_.empty() && sent_.front() + kWindow <= now) sent_.pop_front();
    }

    int limit_;
    std::mutex mu_;
    std::deque<TimePoint> sent_;
};

}  // namespace pb::delivery
