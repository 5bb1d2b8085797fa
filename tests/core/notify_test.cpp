#include "core/notify.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "support/notify_socket.hpp"

namespace pb::notify {
namespace {

TEST(Notify, ADatagramReachesAnAbstractSocket) {
    test::NotifySocket held("notify-test");
    ASSERT_TRUE(held.bound());
    Notifier n(held.name(), std::nullopt);
    ASSERT_TRUE(n.enabled());
    ASSERT_TRUE(static_cast<bool>(n.send("READY=1\nSTATUS=queue: 0")));
    EXPECT_EQ(held.next(), "READY=1\nSTATUS=queue: 0");
}

TEST(Notify, WithoutNotifySocketNothingIsSent) {
    ::unsetenv("NOTIFY_SOCKET");
    const auto n = Notifier::from_environment();
    EXPECT_FALSE(n.enabled());
    EXPECT_TRUE(static_cast<bool>(n.send("READY=1")));
}

TEST(Notify, TheWatchdogIsPettedAtHalfItsTimeoutForThisProcessOnly) {
    ::setenv("NOTIFY_SOCKET", "@x", 1);
    ::setenv("WATCHDOG_USEC", "30000000", 1);
    ::unsetenv("WATCHDOG_PID");
    EXPECT_EQ(Notifier::from_environment().watchdog_interval(), std::chrono::seconds{15});
    ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
    EXPECT_FALSE(Notifier::from_environment().watchdog_interval());
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    EXPECT_TRUE(Notifier::from_environment().watchdog_interval());
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace pb::notify
