#include "core/thread.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace {

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

}  // namespace
