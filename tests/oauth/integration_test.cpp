// The OAuth core against a real authorization server: oidc-provider from
// tests/peers (device flow, PKCE, rotation with reuse detection, revocation,
// client credentials), over the real libcurl client. user.mjs plays the
// person at the browser.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <latch>
#include <thread>

#include "oauth/http_curl.hpp"
#include "oauth/pkce.hpp"
#include "oauth/sign_in.hpp"
#include "oauth/token_manager.hpp"
#include "oauth/url.hpp"
#include "support/peers.hpp"

namespace pb::oauth {
namespace {

using pb::test::Peers;

// Counts what reaches the provider, so that "one refresh" is measured there.
class Counting final : public HttpClient {
  public:
    explicit Counting(HttpClient& inner) : inner_(inner) {}
    Result<HttpResponse> send(const HttpRequest& r) override {
        if (r.body.reveal().find("grant_type=refresh_token") != std::string_view::npos) ++refreshes;
        return inner_.send(r);
    }
    std::atomic<int> refreshes{0};

  private:
    HttpClient& inner_;
};

class Integration : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!Peers::get().available()) GTEST_SKIP() << "no peers (run under ctest: fixture peers)";
        issuer = Peers::get().at("PB_OIDC_ISSUER");
        peers_dir = Peers::get().at("PB_PEERS_DIR");
        auto created = CurlHttpClient::create({});
        ASSERT_TRUE(created.ok());
        curl = std::move(*created);
        auto provider = discover(*curl, issuer);
        ASSERT_TRUE(provider.ok()) << provider.error().describe();
        client.provider = *provider;
        client.client_id = Peers::get().at("PB_OIDC_CLIENT_ID");
        client.scope = "openid email offline_access smtp.send";
    }

    std::string user(const std::string& args) {
        const auto r = pb::test::run_command("'" + Peers::get().at("PB_NODE") + "' '" + peers_dir +
                                             "/user.mjs' " + args + " 2>&1");
        EXPECT_EQ(r.status, 0) << r.out;
        return r.out;
    }

    // A device sign-in that the scripted user approves (or denies).
    Result<TokenResponse> device_sign_in(const std::string& action,
                                         const std::string& login = "alice") {
        DeviceFlow flow(client);
        CancellableWaiter waiter(clock);
        bool acted = false;
        return run_device_flow(flow, *curl, clock, waiter, [&](const DeviceFlow& f) {
            if (f.state() != DeviceFlow::State::waiting || acted) return;
            acted = true;
            EXPECT_EQ(f.message(), sign_in_message(f.authorization()->verification_uri,
                                                   f.authorization()->user_code));
            user(action + " --issuer '" + issuer + "' --code '" + f.authorization()->user_code +
                 "' --login " + login);
        });
    }

    SystemClock clock;
    std::string issuer;
    std::string peers_dir;
    std::unique_ptr<CurlHttpClient> curl;
    Client client;
    MemoryTokenStore store;
};

TEST_F(Integration, DeviceFlowApproved) {
    auto tokens = device_sign_in("approve");
    ASSERT_TRUE(tokens.ok()) << tokens.error().describe();
    EXPECT_FALSE(tokens->access_token.empty());
    EXPECT_FALSE(tokens->refresh_token.empty());
    EXPECT_EQ(tokens->account, "alice@example.test");
}

TEST_F(Integration, DeviceFlowDenied) {
    auto tokens = device_sign_in("deny");
    ASSERT_FALSE(tokens.ok());
    EXPECT_EQ(tokens.error().code, Errc::not_signed_in);
    EXPECT_NE(tokens.error().detail.find("declined"), std::string::npos);
}

TEST_F(Integration, DeviceFlowCancelled) {
    DeviceFlow flow(client);
    CancellableWaiter waiter(clock);
    auto tokens = run_device_flow(flow, *curl, clock, waiter, [&](const DeviceFlow& f) {
        if (f.state() == DeviceFlow::State::waiting) waiter.cancel();
    });
    ASSERT_FALSE(tokens.ok());
    EXPECT_EQ(flow.state(), DeviceFlow::State::cancelled);
}

TEST_F(Integration, RefreshRotatesAndStoresTheNewRefreshToken) {
    auto tokens = device_sign_in("approve");
    ASSERT_TRUE(tokens.ok()) << tokens.error().describe();
    const std::string first_rt(tokens->refresh_token.reveal());
    TokenManager manager(*curl, store, clock);
    ASSERT_TRUE(manager.complete_sign_in("email", client, std::move(*tokens)).ok());
    // A margin longer than the token's life makes it due now.
    auto fresh = manager.access_token("email", client, std::chrono::hours{2});
    ASSERT_TRUE(fresh.ok()) << fresh.error().describe();
    const TokenSet saved = store.load("email").value().value();
    EXPECT_NE(saved.refresh_token.reveal(), first_rt);
    EXPECT_EQ(saved.access_token.reveal(), fresh->token.reveal());
    EXPECT_EQ(fresh->account, "alice@example.test");
}

TEST_F(Integration, ReusedRotatedRefreshTokenNeedsANewSignIn) {
    auto tokens = device_sign_in("approve");
    ASSERT_TRUE(tokens.ok()) << tokens.error().describe();
    TokenManager manager(*curl, store, clock);
    ASSERT_TRUE(manager.complete_sign_in("email", client, std::move(*tokens)).ok());
    const TokenSet before = store.load("email").value().value();
    ASSERT_TRUE(manager.access_token("email", client, std::chrono::hours{2}).ok());
    // A stale copy (another process without the lock, a restored backup)
    // redeems the rotated-out token: the provider revokes the whole grant.
    ASSERT_TRUE(store.save("email", before).ok());
    auto t = manager.access_token("email", client, std::chrono::hours{2});
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, Errc::sign_in_again);
    EXPECT_EQ(store.load("email").value()->state, SignInState::reauth_required);
    EXPECT_EQ(job_code(store.load("email").value()->state), Errc::sign_in_again);
}

TEST_F(Integration, TwoProcessesRefreshingAtOnceLoseNoGrant) {
    auto tokens = device_sign_in("approve");
    ASSERT_TRUE(tokens.ok()) << tokens.error().describe();
    Counting counting(*curl);
    TokenManager a(counting, store, clock);
    TokenManager b(counting, store, clock);
    ASSERT_TRUE(a.complete_sign_in("email", client, std::move(*tokens)).ok());
    TokenSet expired = store.load("email").value().value();
    expired.access_expires_at = clock.now() - std::chrono::seconds{1};
    ASSERT_TRUE(store.save("email", expired).ok());

    std::latch start(20);
    std::vector<std::thread> threads;
    for (int i = 0; i < 20; ++i)
        threads.emplace_back([&, i] {
            start.arrive_and_wait();
            auto t = (i % 2 ? a : b).access_token("email", client);
            EXPECT_TRUE(t.ok()) << t.error().describe();
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(counting.refreshes.load(), 1);
    // The grant is intact: the stored refresh token still works.
    auto again = a.access_token("email", client, std::chrono::hours{2});
    EXPECT_TRUE(again.ok()) << again.error().describe();
}

TEST_F(Integration, ClientCredentials) {
    Client app = client;
    app.grant = Grant::client_credentials;
    app.client_id = Peers::get().at("PB_APP_CLIENT_ID");
    app.client_secret = Secret(Peers::get().at("PB_APP_CLIENT_SECRET"));
    app.scope = "smtp.send";
    TokenManager manager(*curl, store, clock);
    auto t = manager.access_token("relay", app);
    ASSERT_TRUE(t.ok()) << t.error().describe();
    EXPECT_FALSE(t->token.empty());
    EXPECT_TRUE(store.load("relay").value()->refresh_token.empty());
}

TEST_F(Integration, ClientCredentialsWrongSecret) {
    Client app = client;
    app.grant = Grant::client_credentials;
    app.client_id = Peers::get().at("PB_APP_CLIENT_ID");
    app.client_secret = Secret("wrong");
    app.scope = "smtp.send";
    TokenManager manager(*curl, store, clock);
    auto t = manager.access_token("relay", app);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, Errc::identity_provider_config);
}

TEST_F(Integration, SignOutRevokesTheGrant) {
    auto tokens = device_sign_in("approve");
    ASSERT_TRUE(tokens.ok()) << tokens.error().describe();
    TokenManager manager(*curl, store, clock);
    ASSERT_TRUE(manager.complete_sign_in("email", client, std::move(*tokens)).ok());
    const TokenSet before = store.load("email").value().value();
    auto out = manager.sign_out("email", client);
    ASSERT_TRUE(out.ok());
    EXPECT_TRUE(out->revoked) << (out->revoke_error ? out->revoke_error->describe() : "");
    EXPECT_FALSE(store.load("email").value());
    // The revoked refresh token no longer works at the provider.
    ASSERT_TRUE(store.save("email", before).ok());
    auto t = manager.access_token("email", client, std::chrono::hours{2});
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, Errc::sign_in_again);
}

TEST_F(Integration, AuthorizationCodeWithPkce) {
    client.grant = Grant::authorization_code;
    SystemRandom rng;
    auto request = begin_authorization(client, rng);
    ASSERT_TRUE(request.ok()) << request.error().describe();
    std::string redirect = user("authorize --url '" + request->url + "' --login bob");
    auto code = read_redirect(client, redirect, request->state);
    ASSERT_TRUE(code.ok()) << code.error().describe() << "\n" << redirect;
    auto tokens = exchange_code(*curl, client, *code, request->verifier, clock.now());
    ASSERT_TRUE(tokens.ok()) << tokens.error().describe();
    EXPECT_EQ(tokens->account, "bob@example.test");
    EXPECT_FALSE(tokens->refresh_token.empty());
}

TEST_F(Integration, AuthorizationCodeWithTheWrongVerifier) {
    client.grant = Grant::authorization_code;
    SystemRandom rng;
    auto request = begin_authorization(client, rng);
    ASSERT_TRUE(request.ok());
    std::string redirect = user("authorize --url '" + request->url + "'");
    auto code = read_redirect(client, redirect, request->state);
    ASSERT_TRUE(code.ok()) << code.error().describe();
    auto tokens = exchange_code(*curl, client, *code, Secret(std::string(43, 'x')), clock.now());
    ASSERT_FALSE(tokens.ok());
    EXPECT_EQ(tokens.error().code, Errc::sign_in_again);  // invalid_grant
}

TEST_F(Integration, NothingListeningIsCannotConnect) {
    auto r = curl->send(get("http://127.0.0.1:9/.well-known/openid-configuration"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::cannot_connect);
}

TEST_F(Integration, DeadProxyIsProxyFailure) {
    CurlOptions options;
    options.proxy_url = "http://127.0.0.1:9";
    auto proxied = CurlHttpClient::create(options);
    ASSERT_TRUE(proxied.ok());
    auto r = (*proxied)->send(get(issuer + "/.well-known/openid-configuration"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::proxy_failure);
}

// Through tinyproxy (the interop fixture, tests/peers/tinyproxy.sh): its log
// shows that the token request went through it. Skipped when the interop
// set is not running.
TEST_F(Integration, ClientCredentialsThroughTheProxy) {
    const auto proxy = Peers::get().find("PB_PROXY_URL");
    const auto log = Peers::get().find("PB_PROXY_LOG");
    if (!proxy || !log) GTEST_SKIP() << "the interop peers (tinyproxy) are not running";
    CurlOptions options;
    options.proxy_url = *proxy;
    auto proxied = CurlHttpClient::create(options);
    ASSERT_TRUE(proxied.ok());
    Client app = client;
    app.grant = Grant::client_credentials;
    app.client_id = Peers::get().at("PB_APP_CLIENT_ID");
    app.client_secret = Secret(Peers::get().at("PB_APP_CLIENT_SECRET"));
    app.scope = "smtp.send";
    TokenManager manager(**proxied, store, clock);
    auto t = manager.access_token("relay", app);
    ASSERT_TRUE(t.ok()) << t.error().describe();
    const auto seen = pb::test::run_command("grep -c 'POST .*/token' '" + *log + "'");
    EXPECT_NE(seen.out, "0\n") << "the proxy log shows no token request";
    EXPECT_EQ(pb::test::run_command("grep -c 'app-secret\\|" + std::string(t->token.reveal()) +
                                    "' '" + *log + "'")
                  .out,
              "0\n")
        << "a secret reached the proxy's log";
}

TEST_F(Integration, DiscoveryOfAWrongIssuerFails) {
    auto p = discover(*curl, issuer + "/nothing-here");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, Errc::identity_provider_config);
}

}  // namespace
}  // namespace pb::oauth
