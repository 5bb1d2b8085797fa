#include "core/secret.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace pb {
namespace {

TEST(Secret, NeverPrintsItsValue) {
    const Secret s("ya29.very-secret-token");
    std::ostringstream os;
    os << s;
    EXPECT_EQ(os.str(), "***");
    EXPECT_EQ(fmt::format("token={}", s), "token=***");
    EXPECT_EQ(fmt::format("{:>5}", s), "  ***");
    EXPECT_EQ(s.reveal(), "ya29.very-secret-token");
}

TEST(Secret, ComparesByValue) {
    EXPECT_EQ(Secret("abc"), Secret("abc"));
    EXPECT_FALSE(Secret("abc") == Secret("abd"));
    EXPECT_FALSE(Secret("abc") == Secret("abcd"));
    EXPECT_FALSE(Secret("") == Secret("a"));
    EXPECT_TRUE(Secret::equal_constant_time("", ""));
}

TEST(Secret, MovedFromIsEmpty) {
    Secret a("pw");
    Secret b(std::move(a));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
    EXPECT_EQ(b.reveal(), "pw");
    Secret c;
    c = b;
    EXPECT_EQ(c.reveal(), "pw");
}

}  // namespace
}  // namespace pb
