#include "oauth/token.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"
#include "oauth/keepalive.hpp"
#include "oauth/provider.hpp"

namespace pb::oauth {
namespace {

const TimePoint now{std::chrono::seconds{1'800'000'000}};

std::string id_token(const std::string& claims) {
    return base64url_encode(std::string(R"({"alg":"RS256"})")) + "." + base64url_encode(claims) +
           ".c2ln";
}

TEST(TokenResponse, Complete) {
    auto r = parse_token_response(
        R"({"token_type":"Bearer","access_token":"AT","expires_in":3599,"refresh_token":"RT","scope":"a b"})",
        now);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->access_token.reveal(), "AT");
    EXPECT_EQ(r->refresh_token.reveal(), "RT");
    EXPECT_EQ(r->expires_at, now + std::chrono::seconds{3599});
    EXPECT_EQ(r->scope, "a b");
}

TEST(TokenResponse, MissingExpiresIn) {
    auto r = parse_token_response(R"({"access_token":"AT","token_type":"bearer"})", now);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->expires_at, now + default_token_lifetime);
}

TEST(TokenResponse, ExpiresInAsString) {
    auto r = parse_token_response(R"({"access_token":"AT","expires_in":"3600"})", now);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->expires_at, now + std::chrono::hours{1});
}

TEST(TokenResponse, NegativeExpiresIn) {
    EXPECT_FALSE(parse_token_response(R"({"access_token":"AT","expires_in":-5})", now).ok());
}

TEST(TokenResponse, MissingAccessToken) {
    auto r = parse_token_response(R"({"token_type":"Bearer","expires_in":3600})", now);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::identity_provider_unavailable);
}

TEST(TokenResponse, InvalidJson) {
    EXPECT_FALSE(parse_token_response("<html>", now).ok());
    EXPECT_FALSE(parse_token_response("", now).ok());
}

TEST(TokenResponse, NonBearerTokenIsRefused) {
    EXPECT_FALSE(parse_token_response(R"({"access_token":"AT","token_type":"mac"})", now).ok());
}

TEST(TokenResponse, AccountFromIdTokenEmail) {
    const std::string body =
        R"({"access_token":"AT","id_token":")" +
        id_token(R"({"email":"scan@contoso.com","preferred_username":"other"})") + R"("})";
    EXPECT_EQ(parse_token_response(body, now)->account, "scan@contoso.com");
}

TEST(TokenResponse, AccountFromPreferredUsername) {
    EXPECT_EQ(account_from_id_token(id_token(R"({"preferred_username":"printer@contoso.com"})")),
              "printer@contoso.com");
}

TEST(TokenResponse, BrokenIdTokenGivesNoAccount) {
    EXPECT_EQ(account_from_id_token("not-a-jwt"), "");
    EXPECT_EQ(account_from_id_token("a.!!!.c"), "");
    EXPECT_EQ(account_from_id_token(id_token("[1,2]")), "");
}

TEST(TokenSet, MergeKeepsTheOldRefreshTokenWhenNotRotated) {
    TokenSet old;
    old.refresh_token = Secret("RT1");
    old.account = "a@b";
    old.signed_in_at = now - std::chrono::days{1};
    TokenResponse r;
    r.access_token = Secret("AT2");
    r.expires_at = now + std::chrono::hours{1};
    const TokenSet t = merge(old, std::move(r), now);
    EXPECT_EQ(t.refresh_token.reveal(), "RT1");
    EXPECT_EQ(t.access_token.reveal(), "AT2");
    EXPECT_EQ(t.account, "a@b");
    EXPECT_EQ(t.last_refresh, now);
    EXPECT_EQ(t.signed_in_at, now - std::chrono::days{1});
}

TEST(TokenSet, MergeTakesTheRotatedRefreshToken) {
    TokenSet old;
    old.refresh_token = Secret("RT1");
    TokenResponse r;
    r.access_token = Secret("AT2");
    r.refresh_token = Secret("RT2");
    EXPECT_EQ(merge(old, std::move(r), now).refresh_token.reveal(), "RT2");
}

TEST(SignInState, JobCodes) {
    EXPECT_EQ(job_code(SignInState::signed_out), Errc::not_signed_in);
    EXPECT_EQ(job_code(SignInState::pending), Errc::not_signed_in);
    EXPECT_EQ(job_code(SignInState::signed_in), std::nullopt);
    EXPECT_EQ(job_code(SignInState::expired), Errc::sign_in_expired);
    EXPECT_EQ(job_code(SignInState::reauth_required), Errc::sign_in_again);
    EXPECT_EQ(to_string(SignInState::reauth_required), "reauth-required");
}

TokenSet signed_in(TimePoint last_refresh) {
    TokenSet t;
    t.refresh_token = Secret("RT");
    t.signed_in_at = last_refresh;
    t.last_refresh = last_refresh;
    return t;
}

TEST(KeepAlive, NextDueIsIntervalAfterLastRefresh) {
    auto p =
        keepalive_plan(signed_in(now), default_keepalive_interval, microsoft_inactivity_limit, now);
    EXPECT_EQ(p.next_due, now + std::chrono::days{7});
    EXPECT_EQ(p.lapse_at, now + std::chrono::days{90});
    EXPECT_FALSE(p.warning);
}

TEST(KeepAlive, OverdueIsDueNow) {
    auto p = keepalive_plan(signed_in(now - std::chrono::days{10}), default_keepalive_interval,
                            microsoft_inactivity_limit, now);
    EXPECT_EQ(p.next_due, now);
}

TEST(KeepAlive, OffHasNoDueTime) {
    auto p = keepalive_plan(signed_in(now), Duration{0}, microsoft_inactivity_limit, now);
    EXPECT_FALSE(p.next_due);
}

TEST(KeepAlive, WarnsWithinFourteenDaysOfALapse) {
    auto p = keepalive_plan(signed_in(now - std::chrono::days{77}), Duration{0},
                            microsoft_inactivity_limit, now);
    ASSERT_TRUE(p.warning);
    EXPECT_NE(p.warning->find("lapses"), std::string::npos);
    EXPECT_FALSE(keepalive_plan(signed_in(now - std::chrono::days{75}), Duration{0},
                                microsoft_inactivity_limit, now)
                     .warning);
}

TEST(KeepAlive, GoogleLapsesAfterSixMonths) {
    auto p =
        keepalive_plan(signed_in(now), default_keepalive_interval, google_inactivity_limit, now);
    EXPECT_EQ(p.lapse_at, now + std::chrono::days{183});
}

TEST(KeepAlive, WarnsAfterAFailedKeepAlive) {
    TokenSet t = signed_in(now - std::chrono::days{8});
    t.keepalive_failed_at = now - std::chrono::hours{1};
    auto p = keepalive_plan(t, default_keepalive_interval, microsoft_inactivity_limit, now);
    ASSERT_TRUE(p.warning);
    EXPECT_NE(p.warning->find("keep-alive"), std::string::npos);
}

TEST(KeepAlive, NothingToKeepAliveWhenNotSignedIn) {
    TokenSet t = signed_in(now);
    t.state = SignInState::expired;
    EXPECT_FALSE(
        keepalive_plan(t, default_keepalive_interval, microsoft_inactivity_limit, now).next_due);
}

TEST(KeepAlive, WarningLoggedOnceADay) {
    EXPECT_TRUE(warning_log_due(std::nullopt, now));
    EXPECT_FALSE(warning_log_due(now - std::chrono::hours{23}, now));
    EXPECT_TRUE(warning_log_due(now - std::chrono::hours{24}, now));
}

}  // namespace
}  // namespace pb::oauth
