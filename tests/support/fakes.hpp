// Deterministic clock and randomness for tests (production code takes the
// interfaces from core/clock.hpp; nothing in src/ knows these exist).
#pragma once

#include <atomic>
#include <cstring>

#include "core/clock.hpp"

namespace pb::test {

class ManualClock final : public Clock {
  public:
    explicit ManualClock(TimePoint start = TimePoint{std::chrono::seconds{1'800'000'000}})
        : now_(start) {}
    TimePoint now() const override { return now_.load(); }
    void advance(Duration d) { now_.store(now_.load() + d); }  // from one thread at a time
    void set(TimePoint t) { now_.store(t); }

  private:
    std::atomic<TimePoint> now_;  // read by a test's engine threads
};

// Counts up from a seed: reproducible, and different on every call.
class CountingRandom final : public Random {
  public:
    explicit CountingRandom(unsigned char seed = 1) : next_(seed) {}
    void fill(std::span<std::byte> out) override {
        for (auto& b : out) b = static_cast<std::byte>(next_++);
    }

  private:
    unsigned char next_;
};

}  // namespace pb::test
