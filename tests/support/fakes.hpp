// Deterministic clock and randomness for tests (production code takes the
// interfaces from core/clock.hpp; nothing in src/ knows these exist).
#pragma once

#include <cstring>

#include "core/clock.hpp"

namespace pb::test {

class ManualClock final : public Clock {
  public:
    explicit ManualClock(TimePoint start = TimePoint{std::chrono::seconds{1'800'000'000}})
        : now_(start) {}
    TimePoint now() const override { return now_; }
    void advance(Duration d) { now_ += d; }
    void set(TimePoint t) { now_ = t; }

  private:
    TimePoint now_;
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
