#include "core/text.hpp"

#include <gtest/gtest.h>

namespace pb {
namespace {

TEST(Text, IequalsIgnoresTheCaseOfAsciiLettersOnly) {
    EXPECT_TRUE(iequals("STARTTLS", "starttls"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("AUTH", "AUTH "));
    EXPECT_FALSE(iequals("\xC3\x84", "\xC3\xA4"));  // Ä and ä: not ASCII
    EXPECT_FALSE(iequals("[", "{"));                // 0x5B and 0x7B differ by 32 too
}

TEST(Text, IstartsWith) {
    EXPECT_TRUE(istarts_with("mail from:<a@b>", "MAIL FROM:"));
    EXPECT_FALSE(istarts_with("MAIL", "MAIL FROM:"));
}

TEST(Text, TrimTakesSpacesAndTabsFromBothEnds) {
    EXPECT_EQ(trim(" \t 10.0.0.0/8 \t"), "10.0.0.0/8");
    EXPECT_EQ(trim("\r\n"), "\r\n");  // line ends are the caller's business
    EXPECT_EQ(trim("   "), "");
}

TEST(Text, LowerAndUpperChangeAsciiLettersAndNothingElse) {
    EXPECT_EQ(lower("BÜCHER.Example"),
              "b\xC3\x9C"
              "cher.example");
    EXPECT_EQ(upper("xoauth2"), "XOAUTH2");
}

}  // namespace
}  // namespace pb
