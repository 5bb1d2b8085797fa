// Reply -> code mapping (design.md's table; providers.md 2's real replies).
#include "smtp/codes.hpp"

#include <gtest/gtest.h>

namespace pb::smtp {
namespace {

Reply reply(int code, EnhancedStatus s = {}) {
    return Reply{code, s, {"text"}};
}
EnhancedStatus st(unsigned k, unsigned s, unsigned d) {
    return {static_cast<std::uint8_t>(k), static_cast<std::uint16_t>(s),
            static_cast<std::uint16_t>(d)};
}

TEST(Codes, AuthDisabled5_7_139Is621) {
    EXPECT_EQ(classify(reply(535, st(5, 7, 139)), Step::auth), Errc::smtp_auth_disabled);
}
TEST(Codes, WrongAudience5_7_3Is622) {
    EXPECT_EQ(classify(reply(535, st(5, 7, 3)), Step::auth), Errc::auth_rejected);
}
TEST(Codes, BadCredentials5_7_8Is622) {
    EXPECT_EQ(classify(reply(535, st(5, 7, 8)), Step::auth), Errc::auth_rejected);
}
TEST(Codes, Plain535Is622) {
    EXPECT_EQ(classify(reply(535), Step::auth), Errc::auth_rejected);
}
TEST(Codes, NotAuthenticated5_7_57Is622) {
    EXPECT_EQ(classify(reply(530, st(5, 7, 57)), Step::mail), Errc::auth_rejected);
}
TEST(Codes, UnknownMechanism504Is623) {
    EXPECT_EQ(classify(reply(504, st(5, 5, 4)), Step::auth), Errc::no_common_mechanism);
}
TEST(Codes, SendAs5_7_60Is631) {
    EXPECT_EQ(classify(reply(550, st(5, 7, 60)), Step::mail), Errc::sender_not_allowed);
}
TEST(Codes, SendAsDenied5_2_252Is631) {
    EXPECT_EQ(classify(reply(554, st(5, 2, 252)), Step::data_end), Errc::sender_not_allowed);
}
TEST(Codes, BadOutboundSender5_1_8Is631) {
    EXPECT_EQ(classify(reply(550, st(5, 1, 8)), Step::rcpt), Errc::sender_not_allowed);
}
TEST(Codes, Rcpt5xxIs632) {
    EXPECT_EQ(classify(reply(550, st(5, 1, 1)), Step::rcpt), Errc::recipient_rejected);
}
TEST(Codes, TooLarge5_3_4Is633) {
    EXPECT_EQ(classify(reply(554, st(5, 3, 4)), Step::data_end), Errc::message_too_large);
}
TEST(Codes, Plain552Is633) {
    EXPECT_EQ(classify(reply(552), Step::data_end), Errc::message_too_large);
}
TEST(Codes, ThreadLimit4_3_2Is634) {
    EXPECT_EQ(classify(reply(432, st(4, 3, 2)), Step::mail), Errc::rate_limited);
}
TEST(Codes, Closing421WithThreadLimitIs634) {
    EXPECT_EQ(classify(reply(421, st(4, 3, 2)), Step::mail), Errc::rate_limited);
}
TEST(Codes, Plain421Is641) {
    EXPECT_EQ(classify(reply(421), Step::greeting), Errc::mail_service_unavailable);
}
TEST(Codes, Local451Is641) {
    EXPECT_EQ(classify(reply(451, st(4, 3, 0)), Step::data_end), Errc::mail_service_unavailable);
}
TEST(Codes, TemporaryAuth454Is641) {
    EXPECT_EQ(classify(reply(454, st(4, 7, 0)), Step::auth), Errc::mail_service_unavailable);
}
TEST(Codes, EncryptionRequired538Is614) {
    EXPECT_EQ(classify(reply(538, st(5, 7, 11)), Step::auth), Errc::starttls_not_offered);
}
TEST(Codes, EnhancedStatusWinsOverStep) {
    EXPECT_EQ(classify(reply(550, st(5, 7, 60)), Step::rcpt), Errc::sender_not_allowed);
}

}  // namespace
}  // namespace pb::smtp
