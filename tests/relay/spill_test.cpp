// The buffer between the socket and the spool: memory first, then a file
// with no name; what comes out is what went in.
#include "relay/spill.hpp"

#include <gtest/gtest.h>

#include <cerrno>

#include <filesystem>
#include "support/drain.hpp"

namespace pb::relay {
namespace {

class SpillTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("pb-spill-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

TEST_F(SpillTest, SmallStaysInMemory) {
    Spill s(dir_, 100);
    ASSERT_TRUE(s.append("hello ").ok());
    ASSERT_TRUE(s.append("world").ok());
    EXPECT_EQ(s.size(), 11U);
    EXPECT_EQ(test::drain(*s.source(), 777), "hello world");
    EXPECT_FALSE(std::filesystem::exists(dir_));  // no file was needed
}

TEST_F(SpillTest, LargeGoesToAFileWithNoName) {
    Spill s(dir_, 100);
    std::string expect;
    for (int i = 0; i < 50; ++i) {
        const std::string part = std::string(37, static_cast<char>('a' + i % 26)) + "\r\n";
        ASSERT_TRUE(s.append(part).ok());
        expect += part;
    }
    EXPECT_EQ(s.size(), expect.size());
    EXPECT_EQ(test::drain(*s.source(), 777), expect);
    EXPECT_EQ(test::drain(*s.source(), 777), expect);  // can be read again (a retried submit)
    EXPECT_TRUE(std::filesystem::is_empty(dir_));      // nothing named on disk
    s.clear();
    EXPECT_EQ(s.size(), 0U);
    ASSERT_TRUE(s.append("next").ok());
    EXPECT_EQ(test::drain(*s.source(), 777), "next");
}

TEST_F(SpillTest, UnusableDirectoryIs651) {
    Spill s("/proc/self/no-such-dir", 4);
    auto r = s.append("more than four");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::spool_unwritable);
    EXPECT_EQ(r.error().system_errno, ENOENT);  // the system's reason, kept
}

}  // namespace
}  // namespace pb::relay
