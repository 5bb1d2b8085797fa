// The aliases file (aliases(5)): names, continuation lines, comments,
// quoting, chains of names, and what postbridge refuses to deliver to.
#include "intake/aliases.hpp"

#include <gtest/gtest.h>

namespace pb::intake {
namespace {

const char* kFile =
    "# /etc/aliases\n"
    "mailer-daemon: postmaster\n"
    "postmaster: root\n"
    "Root: admin@example.com,\n"
    "   ops@example.com\n"
    "lp: root, \"Print Desk <printing@example.com>\"\n"
    "www-data: root\n"
    "backup: |/usr/local/bin/backup-mail\n"
    "loop1: loop2\n"
    "loop2: loop1\n"
    "self: self\n"
    "broken line without colon\n"
    "empty:\n";

TEST(Aliases, ChainsOfNamesEndInAddressesEachOnce) {
    const auto a = Aliases::parse(kFile);
    auto r = a.expand("mailer-daemon");
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(*r, (std::vector<std::string>{"admin@example.com", "ops@example.com"}));
    auto lp = a.expand("LP");  // names are case-insensitive
    ASSERT_TRUE(lp) << lp.error().detail;
    EXPECT_EQ(*lp, (std::vector<std::string>{"admin@example.com", "ops@example.com",
                                             "Print Desk <printing@example.com>"}));
    auto addr = a.expand("someone@example.org");
    ASSERT_TRUE(addr);
    EXPECT_EQ(*addr, std::vector<std::string>{"someone@example.org"});
}

TEST(Aliases, WhatCannotBeDeliveredIsRefusedWithTheReason) {
    const auto a = Aliases::parse(kFile);
    auto unknown = a.expand("nobody");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().detail.find("nobody is a local name with no alias"),
              std::string::npos);
    auto pipe = a.expand("backup");
    ASSERT_FALSE(pipe);
    EXPECT_NE(pipe.error().detail.find("does not deliver to"), std::string::npos);
    auto loop = a.expand("loop1");
    ASSERT_FALSE(loop);
    EXPECT_NE(loop.error().detail.find("loop"), std::string::npos);
    EXPECT_FALSE(a.expand("self"));
}

TEST(Aliases, ProblemsNameTheirLine) {
    const auto a = Aliases::parse(kFile);
    EXPECT_EQ(a.size(), 9U);
    ASSERT_EQ(a.problems().size(), 2U);
    EXPECT_TRUE(a.problems()[0].starts_with("line 12: not NAME: VALUE")) << a.problems()[0];
    EXPECT_EQ(a.problems()[1], "line 13: empty has no value");
}

}  // namespace
}  // namespace pb::intake
