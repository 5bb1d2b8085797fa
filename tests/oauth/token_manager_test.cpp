#include "oauth/token_manager.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <latch>
#include <thread>
#include <vector>

#include "fake_http.hpp"
#include "support/fakes.hpp"

namespace pb::oauth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using test::json;
using test::Seen;

Client custom_client() {
    Client c;
    c.provider =
        parse_discovery(
            "http://127.0.0.1:4000",
            R"({"issuer":"http://127.0.0.1:4000","token_endpoint":"http://127.0.0.1:4000/token",
                                     "revocation_endpoint":"http://127.0.0.1:4000/revoke"})")
            .value();
    c.client_id = "dev";
    return c;
}

// A token endpoint that rotates refresh tokens and, like oidc-provider,
// revokes the whole grant when a rotated-out one is presented again.
class RotatingProvider {
  public:
    Result<HttpResponse> operator()(const Seen& s) {
        std::lock_guard lock(mu_);
        if (s.url.ends_with("/revoke")) {
            revoked_.push_back(s.field("token"));
            return json(200, "");
        }
        if (s.field("grant_type") != "refresh_token")
            return json(400, R"({"error":"unsupported_grant_type"})");
        const std::string presented = s.field("refresh_token");
        if (presented != current_) {
            current_.clear();  // grant revoked
            ++reuses_;
            return json(
                400, R"({"error":"invalid_grant","error_description":"grant request is invalid"})");
        }
        ++generation_;
        current_ = "RT" + std::to_string(generation_);
        return json(200, R"({"token_type":"Bearer","access_token":"AT)" +
                             std::to_string(generation_) +
                             R"(","expires_in":3600,"refresh_token":")" + current_ + R"("})");
    }
    int reuses() const { return reuses_; }
    std::vector<std::string> revoked() const { return revoked_; }

  private:
    std::mutex mu_;
    std::string current_ = "RT0";
    int generation_ = 0;
    int reuses_ = 0;
    std::vector<std::string> revoked_;
};

struct TokenManagerTest : ::testing::Test {
    pb::test::ManualClock clock;
    RotatingProvider provider;
    test::FakeHttp http{[this](const Seen& s) { return provider(s); }};
    MemoryTokenStore store;
    TokenManager manager{http, store, clock};
    Client client = custom_client();

    // A signed-in profile whose access token expires in `left`.
    void sign_in(Duration left) {
        TokenSet t;
        t.service = "custom";
        t.account = "alice@example.test";
        t.access_token = Secret("AT0");
        t.access_expires_at = clock.now() + left;
        t.refresh_token = Secret("RT0");
        t.signed_in_at = t.last_refresh = clock.now();
        ASSERT_TRUE(store.save("email", t).ok());
    }
    TokenSet stored() { return store.load("email").value().value(); }
};

TEST_F(TokenManagerTest, ValidTokenNeedsNoRequest) {
    sign_in(minutes{30});
    auto t = manager.access_token("email", client);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->token.reveal(), "AT0");
    EXPECT_EQ(t->account, "alice@example.test");
    EXPECT_EQ(http.count(), 0);
}

// One service at a time: a sign-in left from another service (the settings
// moved on) is neither used nor refreshed; the profile is signed out.
TEST_F(TokenManagerTest, ASignInOfAnotherServiceIsNeverUsed) {
    sign_in(minutes{30});
    Client gmail = client;
    gmail.provider.service = Service::gmail;
    auto t = manager.access_token("email", gmail);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, Errc::not_signed_in);
    EXPECT_EQ(http.count(), 0);
    EXPECT_TRUE(manager.access_token("email", client).ok());  // its own service's, still
}

TEST_F(TokenManagerTest, RefreshesWithinTheMargin) {
    sign_in(minutes{4});  // default margin is 5 min
    auto t = manager.access_token("email", client);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->token.reveal(), "AT1");
    EXPECT_EQ(http.count(), 1);
    const auto seen = http.seen().at(0);
    EXPECT_EQ(seen.field("refresh_token"), "RT0");
    EXPECT_EQ(seen.url.find("RT0"), std::string::npos);
}

TEST_F(TokenManagerTest, RotatedRefreshTokenIsStoredBeforeUse) {
    sign_in(seconds{0});
    ASSERT_TRUE(manager.access_token("email", client).ok());
    EXPECT_EQ(stored().refresh_token.reveal(), "RT1");
    EXPECT_EQ(stored().last_refresh, clock.now());
    ASSERT_TRUE(manager.access_token("email", client, minutes{61})
                    .ok());  // force another through the margin
    EXPECT_EQ(stored().refresh_token.reveal(), "RT2");
    EXPECT_EQ(provider.reuses(), 0);
}

TEST_F(TokenManagerTest, SingleFlightHundredThreadsOneRequest) {
    sign_in(seconds{-1});
    http.delay(std::chrono::milliseconds{50});
    constexpr int callers = 100;
    std::latch start(callers);
    std::vector<std::string> got(callers);
    std::vector<std::thread> threads;
    for (int i = 0; i < callers; ++i)
        threads.emplace_back([&, i] {
            start.arrive_and_wait();
            auto t = manager.access_token("email", client);
            got[static_cast<std::size_t>(i)] =
                t.ok() ? std::string(t->token.reveal()) : t.error().describe();
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(http.count(), 1);
    for (const auto& g : got) EXPECT_EQ(g, "AT1");
}

TEST_F(TokenManagerTest, RejectedTokenIsRefreshedOnceForAllWhoSawIt) {
    sign_in(minutes{30});
    const Secret rejected("AT0");
    std::vector<std::thread> threads;
    for (int i = 0; i < 10; ++i)
        threads.emplace_back([&] {
            EXPECT_EQ(manager.refresh_rejected("email", client, rejected)->token.reveal(), "AT1");
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(http.count(), 1);
}

TEST_F(TokenManagerTest, NotSignedInIs360WithoutARequest) {
    auto t = manager.access_token("email", client);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, Errc::not_signed_in);
    EXPECT_EQ(http.count(), 0);
}

TEST_F(TokenManagerTest, InactivityExpiryBecomesExpired361) {
    sign_in(seconds{0});
    http.on([](const Seen&) -> Result<HttpResponse> {
        return json(400, R"({"error":"invalid_grant","error_codes":[700082]})");
    });
    auto t = manager.access_token("email", client);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, Errc::sign_in_expired);
    const TokenSet s = stored();
    EXPECT_EQ(s.state, SignInState::expired);
    EXPECT_TRUE(s.refresh_token.empty());
    EXPECT_EQ(s.account, "alice@example.test");
    // Later callers learn it from the store: no more requests.
    EXPECT_EQ(manager.access_token("email", client).error().code, Errc::sign_in_expired);
    EXPECT_EQ(http.count(), 1);
}

TEST_F(TokenManagerTest, ReusedRefreshTokenRevokesTheGrant) {
    sign_in(seconds{0});
    http.on([](const Seen&) -> Result<HttpResponse> {
        return json(400, R"({"error":"invalid_grant"})");
    });
    auto t = manager.access_token("email", client);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, Errc::sign_in_again);
    EXPECT_EQ(stored().state, SignInState::reauth_required);
}

// Not reaching the identity provider is 642, whose remedy is about the
// sign-in service, not 602's about the SMTP server (found by trying it, issue
// 27); the detail keeps the cause.
TEST_F(TokenManagerTest, NetworkErrorKeepsTokens) {
    sign_in(seconds{0});
    http.on([](const Seen&) -> Result<HttpResponse> {
        return fail(Errc::cannot_connect, "cannot connect to 127.0.0.1: refused");
    });
    auto t = manager.access_token("email", client);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, Errc::identity_provider_unavailable);
    EXPECT_EQ(t.error().detail, "the sign-in service: cannot connect to 127.0.0.1: refused");
    EXPECT_EQ(stored().refresh_token.reveal(), "RT0");
    EXPECT_EQ(stored().state, SignInState::signed_in);
}

TEST_F(TokenManagerTest, ServerErrorStillHandsOutAValidToken) {
    sign_in(minutes{2});  // inside the margin, not yet expired
    http.on([](const Seen&) -> Result<HttpResponse> { return json(503, "busy"); });
    auto t = manager.access_token("email", client);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->token.reveal(), "AT0");
}

TEST_F(TokenManagerTest, ConfigurationErrorKeepsTokens) {
    sign_in(seconds{0});
    http.on([](const Seen&) -> Result<HttpResponse> {
        return json(401, R"({"error":"invalid_client","error_codes":[7000218]})");
    });
    auto t = manager.access_token("email", client);
    EXPECT_EQ(t.error().code, Errc::identity_provider_config);
    EXPECT_EQ(stored().state, SignInState::signed_in);
    EXPECT_EQ(stored().refresh_token.reveal(), "RT0");
}

TEST_F(TokenManagerTest, KeepAliveRefreshesWhenDue) {
    sign_in(minutes{30});
    ASSERT_TRUE(manager.keep_alive("email", client, std::chrono::days{7}).ok());
    EXPECT_EQ(http.count(), 0);
    clock.advance(std::chrono::days{7});
    ASSERT_TRUE(manager.keep_alive("email", client, std::chrono::days{7}).ok());
    EXPECT_EQ(http.count(), 1);
    EXPECT_EQ(stored().last_refresh, clock.now());
}

TEST_F(TokenManagerTest, KeepAliveFailureIsRecorded) {
    sign_in(minutes{30});
    clock.advance(std::chrono::days{8});
    http.on([](const Seen&) -> Result<HttpResponse> { return fail(Errc::timed_out, "timeout"); });
    EXPECT_FALSE(manager.keep_alive("email", client, std::chrono::days{7}).ok());
    EXPECT_EQ(stored().keepalive_failed_at, clock.now());
}

TEST_F(TokenManagerTest, SignOutRevokesTheRefreshTokenThenDeletes) {
    sign_in(minutes{30});
    auto r = manager.sign_out("email", client);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->revoked);
    EXPECT_EQ(provider.revoked(), std::vector<std::string>{"RT0"});
    EXPECT_EQ(http.seen().at(0).field("token_type_hint"), "refresh_token");
    EXPECT_FALSE(store.load("email").value());
}

TEST_F(TokenManagerTest, SignOutDeletesEvenWhenRevocationFails) {
    sign_in(minutes{30});
    http.on(
        [](const Seen&) -> Result<HttpResponse> { return fail(Errc::cannot_connect, "refused"); });
    auto r = manager.sign_out("email", client);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->revoked);
    EXPECT_TRUE(r->revoke_error);
    EXPECT_FALSE(store.load("email").value());
}

TEST_F(TokenManagerTest, SignOutWithoutRevocationEndpointOnlyDeletes) {
    sign_in(minutes{30});
    client.provider = builtin_provider(Service::exchange_online).value();
    ASSERT_TRUE(manager.sign_out("email", client).ok());
    EXPECT_EQ(http.count(), 0);
    EXPECT_FALSE(store.load("email").value());
}

TEST_F(TokenManagerTest, CompleteSignInReplacesTheOldService) {
    sign_in(minutes{30});
    TokenResponse r;
    r.access_token = Secret("NEW");
    r.refresh_token = Secret("NEWRT");
    r.expires_at = clock.now() + minutes{60};
    r.account = "bob@example.test";
    ASSERT_TRUE(manager.complete_sign_in("email", client, std::move(r)).ok());
    EXPECT_EQ(stored().account, "bob@example.test");
    EXPECT_EQ(stored().refresh_token.reveal(), "NEWRT");
}

TEST_F(TokenManagerTest, ClientCredentialsFetchesAndCaches) {
    client.grant = Grant::client_credentials;
    client.client_secret = Secret("app-secret");
    client.scope = "smtp.send";
    http.on([](const Seen& s) -> Result<HttpResponse> {
        EXPECT_EQ(s.field("grant_type"), "client_credentials");
        EXPECT_FALSE(s.authorization.empty());
        return json(200, R"({"access_token":"APP","expires_in":600,"token_type":"Bearer"})");
    });
    EXPECT_EQ(manager.access_token("email", client)->token.reveal(), "APP");
    EXPECT_EQ(manager.access_token("email", client)->token.reveal(), "APP");
    EXPECT_EQ(http.count(), 1);
}

// Two managers stand for two processes: separate single-flight maps, one
// store and its lock. The lock and the re-read under it must make the
// second use the first one's refresh instead of redeeming RT0 again.
TEST_F(TokenManagerTest, TwoProcessesRefreshOnceAndLoseNoGrant) {
    TokenManager a(http, store, clock);
    TokenManager b(http, store, clock);
    sign_in(seconds{-1});
    http.delay(std::chrono::milliseconds{30});
    std::latch start(20);
    std::vector<std::thread> threads;
    for (int i = 0; i < 20; ++i)
        threads.emplace_back([&, i] {
            start.arrive_and_wait();
            auto t = (i % 2 ? a : b).access_token("email", client);
            EXPECT_TRUE(t.ok()) << t.error().describe();
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(http.count(), 1);
    EXPECT_EQ(provider.reuses(), 0);
    EXPECT_EQ(stored().state, SignInState::signed_in);
}

// ---- tokens for another resource (Graph beside SMTP) -----------------------

TEST_F(TokenManagerTest, GraphTokenComesFromTheSameRefreshTokenAndLeavesTheSmtpOne) {
    sign_in(minutes{30});
    const Resource graph{"graph", "offline_access https://graph.microsoft.com/Mail.Send", ""};
    auto g = manager.access_token("email", client, graph);
    ASSERT_TRUE(g.ok()) << g.error().describe();
    EXPECT_EQ(g->token.reveal(), "AT1");
    EXPECT_EQ(g->resource, "graph");
    ASSERT_EQ(http.count(), 1);
    EXPECT_EQ(http.seen().at(0).field("scope"), graph.scope);
    EXPECT_EQ(http.seen().at(0).field("resource"), "");
    // The rotated refresh token is kept; the SMTP token is untouched.
    EXPECT_EQ(stored().refresh_token.reveal(), "RT1");
    EXPECT_EQ(stored().access_token.reveal(), "AT0");
    auto s = manager.access_token("email", client);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->token.reveal(), "AT0");
    // Both valid now: no more requests.
    EXPECT_EQ(manager.access_token("email", client, graph)->token.reveal(), "AT1");
    EXPECT_EQ(http.count(), 1);
    // The SMTP token's refresh later uses the rotated refresh token: no reuse.
    ASSERT_TRUE(manager.access_token("email", client, minutes{61}).ok());
    EXPECT_EQ(provider.reuses(), 0);
}

TEST_F(TokenManagerTest, GraphTokenRefusedIsRefreshedOnce) {
    sign_in(minutes{30});
    const Resource graph{"graph", "mail.send", "https://graph.example"};
    auto first = manager.access_token("email", client, graph);
    ASSERT_TRUE(first.ok());
    auto again = manager.refresh_rejected("email", client, graph, first->token);
    ASSERT_TRUE(again.ok());
    EXPECT_NE(again->token.reveal(), first->token.reveal());
    EXPECT_EQ(http.seen().at(1).field("resource"), "https://graph.example");
}

TEST_F(TokenManagerTest, GraphScopesNeverConsentedHoldWith370) {
    sign_in(minutes{30});
    http.on([](const Seen&) {
        return test::json(
            400,
            R"({"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented"})");
    });
    auto g = manager.access_token("email", client, Resource{"graph", "mail.send", ""});
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.error().code, Errc::sign_in_again);
    EXPECT_NE(g.error().detail.find("graph"), std::string::npos);
    EXPECT_EQ(stored().state, SignInState::reauth_required);
}

TEST_F(TokenManagerTest, AppOnlyGraphTokenUsesTheResourcesDefaultScope) {
    client.grant = Grant::client_credentials;
    client.client_secret = Secret("s");
    http.on([](const Seen& s) {
        EXPECT_EQ(s.field("grant_type"), "client_credentials");
        EXPECT_EQ(s.field("scope"), "https://graph.microsoft.com/.default");
        return test::json(200, R"({"token_type":"Bearer","access_token":"APP","expires_in":3600})");
    });
    auto g = manager.access_token("email", client,
                                  Resource{"graph", "https://graph.microsoft.com/.default", ""});
    ASSERT_TRUE(g.ok()) << g.error().describe();
    EXPECT_EQ(g->token.reveal(), "APP");
    EXPECT_EQ(stored().resources.at("graph").access_token.reveal(), "APP");
    EXPECT_TRUE(stored().access_token.empty());
    EXPECT_EQ(manager
                  .access_token("email", client,
                                Resource{"graph", "https://graph.microsoft.com/.default", ""})
                  ->token.reveal(),
              "APP");
    EXPECT_EQ(http.count(), 1);
}

TEST(SignInScopes, GraphScopesAreConsentedAtTheSameSignInWithoutRepeats) {
    Client c = custom_client();
    c.scope = "https://outlook.office.com/SMTP.Send offline_access openid email";
    c.consent_scope = "https://graph.microsoft.com/Mail.Send offline_access";
    EXPECT_EQ(c.sign_in_scopes(),
              "https://outlook.office.com/SMTP.Send offline_access openid email "
              "https://graph.microsoft.com/Mail.Send");
    const auto seen = parse_form(refresh_request(c, Secret("r")).body.reveal()).value();
    EXPECT_EQ(param(seen, "scope"), c.scope);  // a refresh asks for one resource
    c.consent_scope.clear();
    EXPECT_EQ(c.sign_in_scopes(), c.scope);
}

}  // namespace
}  // namespace pb::oauth
