// The relay's slot limits on an injected time line: no test here waits.
#include "relay/limits.hpp"

#include <gtest/gtest.h>

namespace pb::relay {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock::time_point;

// Row "one byte per second on the relay": a client dripping a byte a
// second during DATA is past its deadline once the grace period is over.
TEST(RelayDataRate, OneBytePerSecondIsTooSlowAfterTheGrace) {
    const Steady start{};
    std::uint64_t bytes = 0;
    Steady now = start;
    bool cut = false;
    for (int second = 1; second <= 100 && !cut; ++second) {
        now = start + std::chrono::seconds(second);
        ++bytes;
        cut = now > data_rate_deadline(start, bytes);
    }
    EXPECT_TRUE(cut);
    EXPECT_LE(now - start, kDataRateGrace + 1s);
}

TEST(RelayDataRate, AFastOrSilentButYoungTransferIsLeftAlone) {
    const Steady start{};
    // A 10 MB scan at 1 MB/s is never near its deadline.
    for (int second = 1; second <= 10; ++second)
        EXPECT_LT(start + std::chrono::seconds(second),
                  data_rate_deadline(start, std::uint64_t(second) * 1'000'000));
    // Nothing yet, but within the grace period.
    EXPECT_EQ(data_rate_deadline(start, 0), start + kDataRateGrace);
    // The deadline moves on with every byte: 60 KiB buy a minute.
    EXPECT_EQ(data_rate_deadline(start, 60 * kMinDataRate), start + 60s);
}

}  // namespace
}  // namespace pb::relay
