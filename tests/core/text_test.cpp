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

// A peer's text in a transcript or an error: one line, ASCII, bounded.
TEST(Text, PrintableReplacesOtherBytesAndCuts) {
    EXPECT_EQ(printable("+OK ready"), "+OK ready");
    EXPECT_EQ(printable("-ERR a\r\nb\x01\xC3\xBC"), "-ERR a??b???");
    EXPECT_EQ(printable("abcdef", 3), "abc...");
    EXPECT_EQ(printable("abc", 3), "abc");
}

// What a user typed, quoted back: a line break cannot survive into a log.
TEST(Text, EscapedShowsControlCharactersAndKeepsUtf8) {
    EXPECT_EQ(escaped("a@b\r\nRCPT TO:<x>"), "a@b\\r\\nRCPT TO:<x>");
    EXPECT_EQ(escaped(std::string_view("\x00\x1f\x7f", 3)), "\\x00\\x1f\\x7f");
    EXPECT_EQ(escaped("b\xC3\xBC"
                      "cher"),
              "b\xC3\xBC"
              "cher");
}

TEST(Text, VisibleIsPrintableWithoutTheSpace) {
    EXPECT_TRUE(ascii_print(' '));
    EXPECT_FALSE(ascii_visible(' '));
    EXPECT_TRUE(ascii_visible('~'));
    EXPECT_FALSE(ascii_print('\x7f'));
    EXPECT_FALSE(ascii_visible('\t'));
}

}  // namespace
}  // namespace pb
