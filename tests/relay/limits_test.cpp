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

// Row "one byte per second on the relay", before any login: it was still
// open after 100 s (300 s per read). Each byte restarts the read, so only
// the limit from the connection on can end it: at 60 s.
TEST(RelayReadTimeout, ADripBeforeLoginIsCutAtTheLimitFromTheConnection) {
    const Steady connected{};
    const ReadWait before_login{false, false, 300s, 600s};
    EXPECT_EQ(read_timeout(before_login, connected, connected, Steady{}, 0), kUnauthenticatedIdle);
    Steady now = connected;
    while (read_timeout(before_login, now, connected, Steady{}, 0) > 0s) now += 1s;  // a byte
    EXPECT_EQ(now - connected, kUnauthenticatedLimit);
    // A silent one: one read, cut after kUnauthenticatedIdle.
    EXPECT_EQ(read_timeout(before_login, connected + 45s, connected, Steady{}, 0), 15s);
}

TEST(RelayReadTimeout, LoggedInClientsGetTheCommandTimeoutAndDataItsRate) {
    const Steady connected{};
    const ReadWait logged_in{true, false, 300s, 600s};
    EXPECT_EQ(read_timeout(logged_in, connected + 3600s, connected, Steady{}, 0), 300s);
    const ReadWait in_data{true, true, 300s, 600s};
    const Steady data_start = connected + 10s;
    // Young: the grace period; a fast transfer: the data timeout caps it.
    EXPECT_EQ(read_timeout(in_data, data_start, connected, data_start, 0), kDataRateGrace);
    EXPECT_EQ(read_timeout(in_data, data_start + 1s, connected, data_start, 100'000'000), 600s);
    // DATA before login cannot happen (MAIL needs it), but the rate would
    // rule it too.
    const ReadWait data_unauthenticated{false, true, 300s, 600s};
    EXPECT_EQ(read_timeout(data_unauthenticated, data_start, connected, data_start, 0),
              kDataRateGrace);
}

}  // namespace
}  // namespace pb::relay
