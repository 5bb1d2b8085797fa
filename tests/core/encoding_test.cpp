#include "core/encoding.hpp"

#include <gtest/gtest.h>

namespace pb {
namespace {

// RFC 4648 section 10 test vectors.
TEST(Base64, Rfc4648Vectors) {
    const std::pair<const char*, const char*> v[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (auto [plain, enc] : v) {
        EXPECT_EQ(base64_encode(std::string_view(plain)), enc);
        EXPECT_EQ(base64_decode(enc), plain);
    }
}

TEST(Base64, LongInputMatchesBytewiseDefinition) {
    std::string in;
    for (int i = 0; i < 1000; ++i) in.push_back(static_cast<char>(i * 7 + 3));
    for (std::size_t n = 0; n < 40; ++n) {
        const auto sub = std::string_view(in).substr(0, n);
        auto back = base64_decode(base64_encode(sub));
        ASSERT_TRUE(back.has_value()) << n;
        EXPECT_EQ(*back, sub) << n;
    }
    EXPECT_EQ(*base64_decode(base64_encode(in)), in);
}

TEST(Base64, RejectsBadInput) {
    EXPECT_FALSE(base64_decode("Zm9").has_value());   // length
    EXPECT_FALSE(base64_decode("Zm9*").has_value());  // alphabet
    EXPECT_FALSE(base64_decode("Zh==").has_value());  // non-canonical trailing bits
    EXPECT_FALSE(base64_decode("Z===").has_value());
}

TEST(Base64Url, NoPaddingAndUrlAlphabet) {
    const std::string in("\xfb\xff\xfe", 3);
    EXPECT_EQ(base64_encode(in), "+//+");
    EXPECT_EQ(base64url_encode(in), "-__-");
    EXPECT_EQ(base64url_encode(std::string_view("f")), "Zg");
    EXPECT_EQ(base64url_decode("Zg"), "f");
    EXPECT_EQ(base64url_decode("-__-"), in);
}

TEST(Hex, RoundTrip) {
    const std::string in("\x00\x01\xab\xff", 4);
    EXPECT_EQ(hex_encode(as_bytes(in)), "0001abff");
    auto back = hex_decode("0001ABff");
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->size(), 4U);
    EXPECT_FALSE(hex_decode("0g").has_value());
    EXPECT_FALSE(hex_decode("abc").has_value());
}

}  // namespace
}  // namespace pb
