#include "oauth/pkce.hpp"

#include <gtest/gtest.h>

#include "oauth/url.hpp"
#include "support/fakes.hpp"

namespace pb::oauth {
namespace {

Client gmail() {
    Client c;
    c.provider = builtin_provider(Service::gmail).value();
    c.grant = Grant::authorization_code;
    c.client_id = "123.apps.googleusercontent.com";
    return c;
}

TEST(Pkce, Rfc7636AppendixBVector) {
    EXPECT_EQ(s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
              "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(Pkce, AuthorizeUrlCarriesStateAndChallengeButNoVerifier) {
    pb::test::CountingRandom rng;
    auto r = begin_authorization(gmail(), rng);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->verifier.size(), 43u);  // 32 bytes, base64url (RFC 7636 4.1)
    const auto url = parse_url(r->url).value();
    EXPECT_EQ(url.host, "accounts.google.com");
    const auto q = parse_form(url.query).value();
    EXPECT_EQ(param(q, "response_type"), "code");
    EXPECT_EQ(param(q, "state"), r->state);
    EXPECT_EQ(param(q, "code_challenge"), s256_challenge(r->verifier.reveal()));
    EXPECT_EQ(param(q, "code_challenge_method"), "S256");
    EXPECT_EQ(param(q, "redirect_uri"), "http://127.0.0.1/callback");
    EXPECT_EQ(param(q, "scope"), "https://mail.google.com/");
    EXPECT_EQ(param(q, "access_type"), "offline");
    EXPECT_EQ(r->url.find(r->verifier.reveal()), std::string::npos);
}

TEST(Pkce, TwoSignInsGetDifferentStateAndVerifier) {
    pb::test::CountingRandom rng;
    auto a = begin_authorization(gmail(), rng);
    auto b = begin_authorization(gmail(), rng);
    EXPECT_NE(a->state, b->state);
    EXPECT_FALSE(a->verifier == b->verifier);
}

TEST(Pkce, NonLoopbackRedirectIsRefused) {
    Client c = gmail();
    c.redirect_uri = "https://evil.example/callback";
    pb::test::CountingRandom rng;
    auto r = begin_authorization(c, rng);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::identity_provider_config);
}

TEST(Pkce, ReadsTheCodeFromThePastedUrl) {
    auto code = read_redirect(
        gmail(), "http://127.0.0.1:53682/callback?state=S1&code=4%2F0Ab-code&scope=x\n", "S1");
    ASSERT_TRUE(code.ok()) << code.error().detail;
    EXPECT_EQ(code->reveal(), "4/0Ab-code");
}

TEST(Pkce, ReadsTheCodeFromABareQuery) {
    auto code = read_redirect(gmail(), "?code=abc&state=S1", "S1");
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(code->reveal(), "abc");
}

TEST(Pkce, WrongStateIsRefused) {
    auto code = read_redirect(gmail(), "http://127.0.0.1/callback?state=OTHER&code=abc", "S1");
    ASSERT_FALSE(code.ok());
    EXPECT_EQ(code.error().code, Errc::invalid_input);
}

TEST(Pkce, MissingStateIsRefused) {
    EXPECT_FALSE(read_redirect(gmail(), "http://127.0.0.1/callback?code=abc", "S1").ok());
}

TEST(Pkce, RepeatedStateIsRefused) {
    EXPECT_FALSE(
        read_redirect(gmail(), "http://127.0.0.1/callback?state=S1&state=S1&code=abc", "S1").ok());
}

TEST(Pkce, OtherHostIsRefused) {
    auto code = read_redirect(gmail(), "https://evil.example/callback?state=S1&code=abc", "S1");
    ASSERT_FALSE(code.ok());
    EXPECT_EQ(code.error().code, Errc::invalid_input);
}

TEST(Pkce, DeclinedInTheBrowser) {
    auto code =
        read_redirect(gmail(), "http://127.0.0.1/callback?error=access_denied&state=S1", "S1");
    ASSERT_FALSE(code.ok());
    EXPECT_EQ(code.error().code, Errc::not_signed_in);
}

TEST(Pkce, MissingCode) {
    auto code = read_redirect(gmail(), "http://127.0.0.1/callback?state=S1", "S1");
    ASSERT_FALSE(code.ok());
    EXPECT_EQ(code.error().code, Errc::invalid_input);
}

TEST(Pkce, ExchangeSendsVerifierAndRedirectInTheBody) {
    const Client c = gmail();
    auto req = code_exchange_request(c, Secret("the-code"), Secret("the-verifier"));
    EXPECT_EQ(req.url, "https://oauth2.googleapis.com/token");
    const auto form = parse_form(req.body.reveal()).value();
    EXPECT_EQ(param(form, "grant_type"), "authorization_code");
    EXPECT_EQ(param(form, "code"), "the-code");
    EXPECT_EQ(param(form, "code_verifier"), "the-verifier");
    EXPECT_EQ(param(form, "redirect_uri"), "http://127.0.0.1/callback");
    EXPECT_EQ(param(form, "client_id"), c.client_id);
}

}  // namespace
}  // namespace pb::oauth
