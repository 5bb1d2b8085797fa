// The documented error bodies of Microsoft (providers.md section 1, reference
// error codes) and Google (section 4), decoded into states and job codes.
#include "oauth/provider_error.hpp"

#include <gtest/gtest.h>

namespace pb::oauth {
namespace {

// Microsoft's shape, as seen in public logs (providers.md S10).
std::string ms(const std::string& error, long code, const std::string& text) {
    return R"({"error":")" + error + R"(","error_description":"AADSTS)" + std::to_string(code) +
           ": " + text +
           R"(\r\nTrace ID: 0\r\nCorrelation ID: 0\r\nTimestamp: 2026-01-01 00:00:00Z","error_codes":[)" +
           std::to_string(code) +
           R"(],"timestamp":"2026-01-01 00:00:00Z","trace_id":"0","correlation_id":"0","error_uri":"https://login.microsoftonline.com/error?code=)" +
           std::to_string(code) + R"("})";
}

Verdict microsoft(long status, const std::string& body) {
    return decode_failure(Family::microsoft, status, body);
}

TEST(ProviderError, InactivityIsExpired361) {
    auto v = microsoft(
        400, ms("invalid_grant", 700082,
                "The refresh token has expired due to inactivity. The token was issued on "
                "2025-01-01 and was inactive for 90.00:00:00."));
    EXPECT_EQ(v.code, Errc::sign_in_expired);
    EXPECT_EQ(v.state, SignInState::expired);
}

TEST(ProviderError, PasswordChangedIsReauth370) {
    auto v = microsoft(
        400, ms("invalid_grant", 50173, "The provided grant has expired due to it being revoked."));
    EXPECT_EQ(v.code, Errc::sign_in_again);
    EXPECT_EQ(v.state, SignInState::reauth_required);
}

TEST(ProviderError, SignInFrequencyIsReauth) {
    auto v = microsoft(400, ms("invalid_grant", 70043,
                               "The refresh token has expired or is invalid due to sign-in "
                               "frequency checks by conditional access."));
    EXPECT_EQ(v.code, Errc::sign_in_again);
}

TEST(ProviderError, ConditionalAccessSaysSoInWords) {
    auto v = microsoft(
        400, ms("invalid_grant", 53003, "Access has been blocked by Conditional Access policies."));
    EXPECT_EQ(v.code, Errc::sign_in_again);
    EXPECT_NE(v.message.find("Conditional Access"), std::string::npos);
    EXPECT_NE(v.message.find("Check the Conditional Access rules"), std::string::npos);
}

TEST(ProviderError, SecurityDefaultsBlock530035) {
    auto v = microsoft(
        400, ms("invalid_grant", 530035, "Access has been blocked by security defaults."));
    EXPECT_EQ(v.code, Errc::sign_in_again);
    EXPECT_NE(v.message.find("AADSTS530035"), std::string::npos);
}

TEST(ProviderError, ConsentMissing) {
    auto v =
        microsoft(400, ms("invalid_grant", 65001,
                          "The user or administrator has not consented to use the application."));
    EXPECT_EQ(v.code, Errc::sign_in_again);
    EXPECT_NE(v.message.find(
                  "an administrator must first sign in and consent on behalf of the organization"),
              std::string::npos);
}

TEST(ProviderError, MfaRequired) {
    EXPECT_EQ(microsoft(400, ms("invalid_grant", 50076, "Due to a configuration change...")).state,
              SignInState::reauth_required);
    EXPECT_EQ(
        microsoft(400, ms("interaction_required", 50079, "The user is required to use MFA.")).state,
        SignInState::reauth_required);
}

TEST(ProviderError, PublicClientFlowsDisabled) {
    auto v = microsoft(401, ms("invalid_client", 7000218,
                               "The request body must contain the following parameter: "
                               "'client_assertion' or 'client_secret'."));
    EXPECT_EQ(v.code, Errc::identity_provider_config);
    EXPECT_FALSE(v.state);  // tokens kept: fixing the registration is enough
    EXPECT_NE(v.message.find("enable Allow public client flows in the app registration"),
              std::string::npos);
}

TEST(ProviderError, AppNotFoundInTenant) {
    auto v =
        microsoft(400, ms("unauthorized_client", 700016,
                          "Application with identifier 'x' was not found in the directory 'y'."));
    EXPECT_EQ(v.code, Errc::identity_provider_config);
}

TEST(ProviderError, TenantNotFound) {
    EXPECT_EQ(microsoft(400, ms("invalid_request", 90002, "Tenant 'x' not found.")).code,
              Errc::identity_provider_config);
}

TEST(ProviderError, InvalidClientWithoutCode) {
    EXPECT_EQ(microsoft(401, R"({"error":"invalid_client"})").code, Errc::identity_provider_config);
}

TEST(ProviderError, OtherInvalidGrantIsReauth) {
    auto v = microsoft(400, ms("invalid_grant", 9002313, "Invalid request."));
    EXPECT_EQ(v.code, Errc::sign_in_again);
    EXPECT_EQ(decode_failure(Family::generic, 400, R"({"error":"invalid_grant"})").code,
              Errc::sign_in_again);
}

TEST(ProviderError, DescriptionTextIsNotWhatDecides) {
    // Microsoft's text says "expired due to inactivity", but the code says
    // revoked: the code wins.
    auto v = microsoft(
        400, ms("invalid_grant", 50173, "The refresh token has expired due to inactivity."));
    EXPECT_EQ(v.code, Errc::sign_in_again);
}

TEST(ProviderError, GoogleExpiredAfterSixMonthsOfDisuse) {
    const std::string body =
        R"({"error":"invalid_grant","error_description":"Token has been expired or revoked."})";
    auto v = decode_failure(Family::google, 400, body, std::chrono::days{200});
    EXPECT_EQ(v.code, Errc::sign_in_expired);
    EXPECT_EQ(v.state, SignInState::expired);
}

TEST(ProviderError, GoogleRevokedWhileInUse) {
    const std::string body =
        R"({"error":"invalid_grant","error_description":"Token has been expired or revoked."})";
    auto v = decode_failure(Family::google, 400, body, std::chrono::days{3});
    EXPECT_EQ(v.code, Errc::sign_in_again);
}

TEST(ProviderError, ServerErrorIsTransient) {
    auto v = decode_failure(Family::microsoft, 500, "<html>oops</html>");
    EXPECT_EQ(v.code, Errc::identity_provider_unavailable);
    EXPECT_FALSE(v.state);
    EXPECT_EQ(decode_failure(Family::generic, 503, R"({"error":"temporarily_unavailable"})").code,
              Errc::identity_provider_unavailable);
    EXPECT_EQ(decode_failure(Family::generic, 429, "").code, Errc::identity_provider_unavailable);
}

TEST(ProviderError, NotFoundWithoutBodyIsConfiguration) {
    EXPECT_EQ(decode_failure(Family::generic, 404, "Not Found").code,
              Errc::identity_provider_config);
}

TEST(ProviderError, InvalidJsonIsNotAnErrorBody) {
    EXPECT_FALSE(parse_error_body(400, "{not json"));
    EXPECT_FALSE(parse_error_body(400, R"({"error":42})"));
    EXPECT_FALSE(parse_error_body(400, "[]"));
}

TEST(ProviderError, ReadsMicrosoftErrorCodes) {
    auto e = parse_error_body(400, ms("invalid_grant", 700082, "x"));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->error, "invalid_grant");
    ASSERT_EQ(e->error_codes.size(), 1u);
    EXPECT_EQ(e->error_codes[0], 700082);
}

}  // namespace
}  // namespace pb::oauth
