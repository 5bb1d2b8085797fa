#include "core/crypto.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"
#include "support/fakes.hpp"

namespace pb {
namespace {

TEST(Seal, RoundTrip) {
    test::CountingRandom rng;
    const SealKey key = SealKey::generate(rng);
    const std::string sealed = seal(key, rng, "token:email", Secret("refresh-token-value"));
    EXPECT_TRUE(sealed.starts_with("pb1:"));
    EXPECT_EQ(sealed.find("refresh-token-value"), std::string::npos);
    auto back = unseal(key, "token:email", sealed);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->reveal(), "refresh-token-value");
}

TEST(Seal, FreshNonceEachTime) {
    test::CountingRandom rng;
    const SealKey key = SealKey::generate(rng);
    EXPECT_NE(seal(key, rng, "n", Secret("x")), seal(key, rng, "n", Secret("x")));
}

TEST(Seal, TamperingIsDetected) {
    test::CountingRandom rng;
    const SealKey key = SealKey::generate(rng);
    const std::string sealed = seal(key, rng, "setting:email.password", Secret("hunter22"));
    auto raw = *base64_decode(std::string_view(sealed).substr(4));
    for (std::size_t i = 0; i < raw.size(); ++i) {
        std::string bad = raw;
        bad[i] = static_cast<char>(bad[i] ^ 0x01);
        EXPECT_FALSE(unseal(key, "setting:email.password", "pb1:" + base64_encode(bad)).has_value())
            << "flipped byte " << i;
    }
    // Moved to another name, or opened with another key: refused.
    EXPECT_FALSE(unseal(key, "setting:fax.password", sealed).has_value());
    const SealKey other = SealKey::generate(rng);
    EXPECT_FALSE(unseal(other, "setting:email.password", sealed).has_value());
    EXPECT_FALSE(unseal(key, "setting:email.password", "pb1:short").has_value());
    EXPECT_FALSE(unseal(key, "setting:email.password", "garbage").has_value());
}

TEST(SealKey, FromBase64) {
    EXPECT_TRUE(SealKey::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    EXPECT_FALSE(SealKey::from_base64("AAAA"));
    EXPECT_FALSE(SealKey::from_base64("not base64!"));
}

TEST(PasswordHash, VerifiesAndRejects) {
    test::CountingRandom rng;
    // Few iterations keep the test quick; the format records the count.
    const std::string h = hash_password(Secret("correct horse"), rng, 1000);
    EXPECT_TRUE(h.starts_with("pbkdf2-sha256$1000$"));
    EXPECT_TRUE(verify_password(Secret("correct horse"), h));
    EXPECT_FALSE(verify_password(Secret("correct horsf"), h));
    EXPECT_FALSE(verify_password(Secret("correct horse"), "pbkdf2-sha256$1000$$"));
    EXPECT_FALSE(verify_password(Secret("x"), "md5$abc"));
    EXPECT_NE(hash_password(Secret("a"), rng, 1000), hash_password(Secret("a"), rng, 1000));
}

TEST(PasswordHash, DefaultIterationsMeetOwasp) {
    EXPECT_GE(kPbkdf2Iterations, 600000U);
}

TEST(Sha256, KnownVector) {
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace pb
