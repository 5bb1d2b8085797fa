// Time and randomness, passed in as interfaces so that protocol cores and
// their tests never read the real clock or the real entropy source.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <span>
#include <string>

namespace pb {

using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;
using Duration = std::chrono::milliseconds;

class Clock {
  public:
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
  public:
    TimePoint now() const override {
        return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
    }
};

class Random {
  public:
    virtual ~Random() = default;
    virtual void fill(std::span<std::byte> out) = 0;
};

// A Random that several threads may share: each fill() is taken in turn.
class LockedRandom final : public Random {
  public:
    explicit LockedRandom(Random& inner) : inner_(inner) {}
    void fill(std::span<std::byte> out) override {
        std::lock_guard lock(mu_);
        inner_.fill(out);
    }

  private:
    std::mutex mu_;
    Random& inner_;
};

// OpenSSL's CSPRNG. fill() aborts if the generator fails: continuing with
// predictable secrets would be worse than stopping.
class SystemRandom final : public Random {
  public:
    void fill(std::span<std::byte> out) override;
};

// n random bytes as lowercase hex / as base64url without padding.
std::string random_hex(Random& rng, std::size_t n);
std::string random_base64url(Random& rng, std::size_t n);

// RFC 3339 in UTC, second precision ("2026-11-27T10:00:00Z").
std::string format_rfc3339(TimePoint t);

}  // namespace pb
