// SASL mechanisms: exact blobs, choice, the 512-octet initial-response rule.
#include "smtp/sasl.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"

namespace pb::smtp {
namespace {

SaslCredentials creds(std::string token) {
    return {"user@example.com", Secret(std::move(token)), "smtp.example.com", 587};
}

TEST(Sasl, Xoauth2MatchesMicrosoftsExample) {
    // providers.md 2: base64("user=" + user + "^Aauth=Bearer " + token + "^A^A").
    EXPECT_EQ(base64_encode(xoauth2_blob("test@contoso.onmicrosoft.com",
                                         "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA")),
              "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFv"
              "N0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ==");
}

TEST(Sasl, OauthbearerCarriesHostAndPort) {
    EXPECT_EQ(oauthbearer_blob("user@example.com", "server.example.com", 143, "vF9dft4qmT"),
              "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
              "auth=Bearer vF9dft4qmT\x01\x01");
}

TEST(Sasl, OauthbearerEscapesCommaAndEquals) {
    EXPECT_EQ(oauthbearer_blob("a,b=c", "", 0, "t"),
              "n,a=a=2Cb=3Dc,\x01"
              "auth=Bearer t\x01\x01");
}

TEST(Sasl, PlainHasEmptyAuthzid) {
    auto m = make_mechanism("PLAIN", {"device", Secret("device-pass"), "", 0});
    EXPECT_EQ(base64_decode(m->initial_response().reveal()),
              std::string("\0device\0device-pass", 19));
}

TEST(Sasl, LoginAnswersUserThenPassword) {
    auto m = make_mechanism("LOGIN", {"device", Secret("pw"), "", 0});
    EXPECT_FALSE(m->has_initial_response());
    EXPECT_EQ(m->step().reveal(), base64_encode("device"));
    EXPECT_FALSE(m->finished());
    EXPECT_EQ(m->step().reveal(), base64_encode("pw"));
    EXPECT_TRUE(m->finished());
}

TEST(Sasl, ErrorAcknowledgements) {
    EXPECT_EQ(make_mechanism("XOAUTH2", creds("t"))->error_ack(), "");
    EXPECT_EQ(make_mechanism("OAUTHBEARER", creds("t"))->error_ack(), "AQ==");
    EXPECT_EQ(make_mechanism("PLAIN", creds("t"))->error_ack(), "*");
}

TEST(Sasl, OauthPrefersXoauth2) {
    Capabilities c;
    c.auth = {"OAUTHBEARER", "XOAUTH2", "PLAIN"};
    EXPECT_EQ(*choose_mechanism(AuthMethod::oauth2, c), "XOAUTH2");
}

TEST(Sasl, OauthFallsBackToOauthbearer) {
    Capabilities c;
    c.auth = {"PLAIN", "OAUTHBEARER"};
    EXPECT_EQ(*choose_mechanism(AuthMethod::oauth2, c), "OAUTHBEARER");
}

TEST(Sasl, PasswordPrefersPlainThenLogin) {
    Capabilities c;
    c.auth = {"LOGIN", "XOAUTH2"};
    EXPECT_EQ(*choose_mechanism(AuthMethod::smtp_auth, c), "LOGIN");
    c.auth.push_back("PLAIN");
    EXPECT_EQ(*choose_mechanism(AuthMethod::smtp_auth, c), "PLAIN");
}

TEST(Sasl, NoCommonMechanismIs623) {
    Capabilities c;
    c.auth = {"LOGIN", "PLAIN"};
    auto r = choose_mechanism(AuthMethod::oauth2, c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::no_common_mechanism);
    EXPECT_NE(r.error().detail.find("AUTH LOGIN PLAIN"), std::string::npos);
}

// The longest token whose AUTH line is exactly 512 octets goes inline; one
// more character moves it after the 334.
TEST(Sasl, InitialResponseOnlyWithin512Octets) {
    auto line_for = [](std::size_t token_len) {
        auto m = make_mechanism("XOAUTH2", {"u", Secret(std::string(token_len, 'a')), "", 0});
        return std::string(auth_command(*m).reveal());
    };
    std::size_t fit = 0;
    for (std::size_t n = 300; n < 400; ++n)
        if (line_for(n).size() <= 512 && line_for(n) != "AUTH XOAUTH2\r\n") fit = n;
    ASSERT_GT(fit, 0u);
    EXPECT_LE(line_for(fit).size(), 512u);
    EXPECT_EQ(line_for(fit + 3), "AUTH XOAUTH2\r\n");  // +3 raw bytes = +4 base64 chars
}

TEST(Sasl, LongTokenIsNotMarkedSent) {
    auto m = make_mechanism("XOAUTH2", {"u", Secret(std::string(2000, 'a')), "", 0});
    EXPECT_EQ(auth_command(*m).reveal(), "AUTH XOAUTH2\r\n");
    EXPECT_FALSE(m->finished());
    EXPECT_EQ(m->step().reveal(), base64_encode(xoauth2_blob("u", std::string(2000, 'a'))));
    EXPECT_TRUE(m->finished());
}

}  // namespace
}  // namespace pb::smtp
