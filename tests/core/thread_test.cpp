#include "core/thread.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>

namespace {

int nice_of(pid_t tid) {
    return getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
}

TEST(ThreadTest, ANamedThreadShowsItsNameCutToTheKernelsLimit) {
    std::string seen;
    std::thread([&] {
        pb::name_this_thread("pb-a-name-longer-than-fifteen");
        char buf[32] = {};
        ASSERT_EQ(pthread_getname_np(pthread_self(), buf, sizeof buf), 0);
        seen = buf;
    }).join();
    EXPECT_EQ(seen, "pb-a-name-longe");
}

TEST(ThreadTest, LoweringAThreadsPriorityLeavesTheOthersAlone) {
    const int before = nice_of(gettid());
    int lowered = 0;
    int sibling = 0;
    std::thread([&] {
        pb::lower_this_thread_priority(5);
        lowered = nice_of(gettid());
        // A thread started from a lowered one inherits its priority.
        std::thread([&] { sibling = nice_of(gettid()); }).join();
    }).join();
    EXPECT_EQ(lowered, std::min(before + 5, 19));  // 19: the lowest there is
    EXPECT_EQ(sibling, lowered);
    EXPECT_EQ(nice_of(gettid()), before);  // the caller's own is untouched
}

}  // namespace
