#include "core/form.hpp"

#include <gtest/gtest.h>

namespace pb::form {
namespace {

TEST(Form, ParsesPairsInOrderWithRepeats) {
    auto p = parse("a=1&b=x+y&a=2&&c");
    ASSERT_TRUE(p);
    ASSERT_EQ(p->size(), 4u);
    EXPECT_EQ((*p)[1], (std::pair<std::string, std::string>{"b", "x y"}));
    EXPECT_EQ((*p)[3], (std::pair<std::string, std::string>{"c", ""}));
    EXPECT_EQ(first(*p, "a"), "1");
    EXPECT_EQ(only(*p, "a"), std::nullopt);  // repeated
    EXPECT_EQ(only(*p, "b"), "x y");
    EXPECT_EQ(first(*p, "missing"), std::nullopt);
}

TEST(Form, BrokenEscapeMakesTheWholeInputUnreadable) {
    EXPECT_FALSE(parse("a=1&b=%zz"));
    EXPECT_FALSE(parse("a=%4"));
    EXPECT_FALSE(parse("a%=1"));
    EXPECT_FALSE(decode("%"));
}

TEST(Form, PlusIsASpaceOnlyInForms) {
    EXPECT_EQ(decode("a+b%2Bc"), "a b+c");
    EXPECT_EQ(decode("a+b%2Bc", false), "a+b+c");
}

TEST(Form, EncodeKeepsUnreservedAndEscapesTheRest) {
    EXPECT_EQ(encode("Az09-._~"), "Az09-._~");
    EXPECT_EQ(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    const std::string all = [] {
        std::string s;
        for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>(c));
        return s;
    }();
    EXPECT_EQ(decode(encode(all)), all);
}

}  // namespace
}  // namespace pb::form
