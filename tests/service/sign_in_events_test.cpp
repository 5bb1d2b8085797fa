// The log lines of sign-in changes: signed in, refreshed, keep-alive
// failed, lapsed, revoked; nothing for a save that changed nothing worth a
// line, and never a token.
#include <gtest/gtest.h>

#include "service/tokens.hpp"

namespace pb::service {
namespace {

using namespace std::chrono_literals;

oauth::TokenSet signed_in() {
    oauth::TokenSet t;
    t.service = "exchange-online";
    t.account = "scanner@contoso.example";
    t.access_token = Secret("eyJ-access-token");
    t.refresh_token = Secret("refresh-token-secret");
    t.signed_in_at = TimePoint{std::chrono::seconds{1'800'000'000}};
    t.last_refresh = t.signed_in_at;
    return t;
}

TEST(SignInEvents, EachChangeHasItsLine) {
    const auto first = signed_in();
    EXPECT_EQ(sign_in_event("email", std::nullopt, first),
              "sign-in: email (scanner@contoso.example) signed in to exchange-online");
    EXPECT_EQ(sign_in_event("email", first, first), std::nullopt);

    auto refreshed = first;
    refreshed.last_refresh += 1h;
    refreshed.access_token = Secret("eyJ-another");
    EXPECT_EQ(sign_in_event("email", first, refreshed),
              "sign-in: email (scanner@contoso.example) refreshed");

    auto failing = first;
    failing.keepalive_failed_at = first.signed_in_at + 7 * 24h;
    EXPECT_EQ(sign_in_event("email", first, failing),
              "sign-in: email (scanner@contoso.example) keep-alive failed; it is tried again "
              "hourly");

    auto lapsed = first;
    lapsed.state = oauth::SignInState::expired;
    lapsed.state_reason = "AADSTS700082: the refresh token has expired due to inactivity";
    const auto line = sign_in_event("email", first, lapsed);
    ASSERT_TRUE(line);
    EXPECT_EQ(*line,
              "sign-in: email (scanner@contoso.example) lapsed (361): AADSTS700082: the "
              "refresh token has expired due to inactivity");
    EXPECT_EQ(sign_in_event("email", lapsed, lapsed), std::nullopt);  // said once

    auto revoked = first;
    revoked.state = oauth::SignInState::reauth_required;
    EXPECT_EQ(sign_in_event("fax", first, revoked),
              "sign-in: fax (scanner@contoso.example) revoked or refused (370)");

    for (const auto& t : {first, refreshed, lapsed, revoked}) {
        const auto l = sign_in_event("email", std::nullopt, t).value_or("");
        EXPECT_EQ(l.find("token-secret"), std::string::npos) << l;
        EXPECT_EQ(l.find("eyJ"), std::string::npos) << l;
    }
}

}  // namespace
}  // namespace pb::service
