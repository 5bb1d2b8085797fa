// What the engine tests put into an engine to see and steer it without
// sleeping: a Waiter that moves a manual clock when the test says so, and an
// Observer that lets a test wait for what the engine did.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "delivery/engine.hpp"
#include "support/fakes.hpp"

namespace pb::test {

// How long a test waits for an engine that should already have done it: a
// bound for a broken engine, never a pause.
inline constexpr std::chrono::seconds kEngineLimit{20};

// Every wait of the engine is counted; when it is let through, the clock
// jumps to the wait's end. Free running, each wait is let through at once
// (a rate-limited flush takes no real time); held, a wait blocks until
// let_through() or the engine's stop.
class SteppingWaiter final : public delivery::Waiter {
  public:
    enum Mode { free_running, held };
    explicit SteppingWaiter(ManualClock& clock, Mode mode = free_running)
        : clock_(clock), mode_(mode) {}

    void wait_until(TimePoint t, std::stop_token stop) override {
        std::unique_lock lock(mu_);
        ++waits_;
        naps_.push_back(t - clock_.now());
        cv_.notify_all();
        if (mode_ == held) {
            if (!cv_.wait(lock, stop, [this] { return passes_ > 0; })) return;  // stopped
            --passes_;
        }
        if (t > clock_.now()) clock_.set(t);
    }

    // Until the engine has waited `n` times in all; false when it has not
    // within kEngineLimit.
    bool await_waits(int n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kEngineLimit, [&] { return waits_ >= n; });
    }
    void let_through(int n = 1) {
        {
            std::lock_guard lock(mu_);
            passes_ += n;
        }
        cv_.notify_all();
    }
    int waits() {
        std::lock_guard lock(mu_);
        return waits_;
    }
    // How far ahead of the clock each wait was asked to end, in order.
    std::vector<Duration> naps() {
        std::lock_guard lock(mu_);
        return naps_;
    }

  private:
    ManualClock& clock_;
    const Mode mode_;
    std::mutex mu_;
    std::condition_variable_any cv_;
    int waits_ = 0;
    int passes_ = 0;
    std::vector<Duration> naps_;
};

// Keeps every claim and attempt the engine reports.
class EventLog final : public delivery::Observer {
  public:
    struct Attempted {
        spool::JobId job;
        spool::JobState state;
        int attempts;
    };

    void claimed(const std::string&, std::span<const spool::Job> jobs) override {
        {
            std::lock_guard lock(mu_);
            std::vector<spool::JobId> ids;
            for (const auto& j : jobs) ids.push_back(j.id);
            claims_.push_back(std::move(ids));
        }
        cv_.notify_all();
    }
    void attempted(const spool::Job& job, const spool::Attempt& a) override {
        {
            std::lock_guard lock(mu_);
            attempts_.push_back({job.id, a.state, job.attempts});
        }
        cv_.notify_all();
    }

    // Until `pred` holds of what was reported; false when it does not
    // within kEngineLimit.
    bool await(const std::function<bool(const EventLog&)>& pred) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kEngineLimit, [&] { return pred(*this); });
    }
    // Until an attempt at `id` ends in `state`.
    bool await_attempt(spool::JobId id, spool::JobState state) {
        return await([&](const EventLog& log) {
            return std::any_of(log.attempts_.begin(), log.attempts_.end(),
                               [&](const Attempted& a) { return a.job == id && a.state == state; });
        });
    }

    // Read under await(), or once the engine is done.
    const std::vector<std::vector<spool::JobId>>& claims() const { return claims_; }
    const std::vector<Attempted>& attempts() const { return attempts_; }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::vector<spool::JobId>> claims_;
    std::vector<Attempted> attempts_;
};

}  // namespace pb::test
