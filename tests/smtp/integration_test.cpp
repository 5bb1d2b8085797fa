// The SMTP client against the real peers (tests/peers): smtp-server with
// STARTTLS and XOAUTH2 checked by introspection at oidc-provider, the test
// CA, an untrusted CA; Dovecot submission on 127.0.0.2 when the interop set
// runs. Tokens come from a real device flow (tests/peers/token.mjs).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "smtp/client.hpp"
#include "support/peers.hpp"

namespace pb::smtp {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

#define REQUIRE_PEERS()                                                      \
    do {                                                                     \
        if (!pb::test::Peers::get().available()) GTEST_SKIP() << "no peers"; \
    } while (0)

std::string env(const std::string& key) {
    return pb::test::Peers::get().at(key);
}

// A real access token for `login`, through the device flow.
std::string device_flow_token(const std::string& login = "alice") {
    const auto r = pb::test::run_command(env("PB_NODE") + " " + std::string(PB_SMTP_SOURCE_DIR) +
                                         "/tests/peers/token.mjs --issuer '" +
                                         env("PB_OIDC_ISSUER") + "' --login " + login);
    EXPECT_EQ(r.status, 0) << r.out;
    std::string t = r.out;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
}

// Hands out the given tokens in order; the last one repeats.
class ListTokens final : public TokenProvider {
  public:
    explicit ListTokens(std::vector<std::string> t) : tokens_(std::move(t)) {}
    Result<Secret> access_token(bool forced) override {
        forced_.push_back(forced);
        const auto i = std::min(forced_.size() - 1, tokens_.size() - 1);
        return Secret(tokens_[i]);
    }
    std::vector<bool> forced_;

  private:
    std::vector<std::string> tokens_;
};

ServerConfig smtp_peer(Security security = Security::starttls) {
    ServerConfig c;
    c.host = env("PB_SMTP_HOST");
    c.port = static_cast<std::uint16_t>(
        std::stoi(env(security == Security::ssl_tls ? "PB_SMTPS_PORT" : "PB_SMTP_PORT")));
    c.security = security;
    c.tls.system_store = false;
    c.tls.ca_files = {env("PB_TEST_CA")};
    c.timeout_limit = 20s;
    return c;
}

Credentials oauth(TokenProvider& tokens, std::string user = "alice") {
    Credentials c;
    c.method = AuthMethod::oauth2;
    c.user = std::move(user);
    c.tokens = &tokens;
    return c;
}

// The message in the maildir whose body holds `marker`, with its sidecar.
[[maybe_unused]] std::optional<std::pair<std::string, std::string>> find_delivered(
    const std::string& marker) {
    const fs::path dir = fs::path(env("PB_MAILDIR")) / "new";
    for (int attempt = 0; attempt < 50; ++attempt) {
        for (const auto& e : fs::directory_iterator(dir)) {
            const auto name = e.path().filename().string();
            if (name.ends_with(".envelope.json")) continue;
            std::ifstream in(e.path());
            std::stringstream ss;
            ss << in.rdbuf();
            if (ss.str().find(marker) == std::string::npos) continue;
            std::ifstream side(e.path().string() + ".envelope.json");
            std::stringstream sj;
            sj << side.rdbuf();
            return std::make_pair(ss.str(), sj.str());
        }
        std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
}

[[maybe_unused]] std::string unique_marker() {
    return "pb-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

#ifndef PB_INTEROP_ONLY

TEST(SmtpPeer, StartTlsXoauth2DeliversCheckedByIntrospection) {
    REQUIRE_PEERS();
    ListTokens tokens({device_flow_token()});
    const std::string marker = unique_marker();
    StringSource body("From: alice@example.test\r\nSubject: " + marker +
                      "\r\n\r\n.starts with a dot\r\nbye\r\n");
    std::vector<OutgoingMessage> msgs{
        {{"alice@example.test", {"bob@example.test"}, {}, false}, &body}};
    auto report = send(smtp_peer(), oauth(tokens), msgs);
    ASSERT_TRUE(report.ok()) << report.transcript;
    const auto delivered = find_delivered(marker);
    ASSERT_TRUE(delivered);
    EXPECT_NE(delivered->first.find("\r\n.starts with a dot\r\n"),
              std::string::npos);  // unstuffed by the server
    EXPECT_NE(delivered->second.find("\"user\": \"alice"), std::string::npos);
    EXPECT_NE(delivered->second.find("\"secure\": true"), std::string::npos);
    EXPECT_EQ(tokens.forced_, std::vector<bool>{false});
}

TEST(SmtpPeer, ImplicitTls) {
    REQUIRE_PEERS();
    ListTokens tokens({device_flow_token()});
    auto t = test_connection(smtp_peer(Security::ssl_tls), oauth(tokens));
    EXPECT_TRUE(t.ok()) << t.transcript;
}

TEST(SmtpPeer, TestConnectionShowsCertificate) {
    REQUIRE_PEERS();
    ListTokens tokens({device_flow_token()});
    auto t = test_connection(smtp_peer(), oauth(tokens));
    ASSERT_TRUE(t.ok()) << t.transcript;
    ASSERT_TRUE(t.certificate);
    EXPECT_EQ(t.certificate->subject, "CN=localhost");
    EXPECT_NE(t.certificate->issuer.find("postbridge test CA"), std::string::npos);
    EXPECT_LT(t.certificate->not_before, t.certificate->not_after);
    ASSERT_EQ(t.steps.size(), 4u);
    for (const auto& s : t.steps) EXPECT_TRUE(s.ok) << s.name << ": " << s.detail;
    EXPECT_EQ(t.steps[3].detail, "XOAUTH2");
}

TEST(SmtpPeer, UntrustedCaIs612) {
    REQUIRE_PEERS();
    ListTokens tokens({"unused"});
    auto cfg = smtp_peer();
    cfg.tls.ca_files = {env("PB_UNTRUSTED_CA")};
    auto t = test_connection(cfg, oauth(tokens));
    ASSERT_TRUE(t.error);
    EXPECT_EQ(t.error->code, Errc::cert_untrusted) << t.error->detail;
    EXPECT_TRUE(tokens.forced_.empty());
}

TEST(SmtpPeer, SystemBundleAloneDoesNotTrustTestCa) {
    REQUIRE_PEERS();
    ListTokens tokens({"unused"});
    auto cfg = smtp_peer();
    cfg.tls.system_store = true;
    cfg.tls.ca_files.clear();
    auto t = test_connection(cfg, oauth(tokens));
    ASSERT_TRUE(t.error);
    EXPECT_EQ(t.error->code, Errc::cert_untrusted);
}

// Sets environment variables for one scope, as they were after it.
class ScopedEnv {
  public:
    void set(const char* name, const std::optional<std::string>& value) {
        const char* was = std::getenv(name);
        saved_.emplace_back(name, was ? std::optional<std::string>(was) : std::nullopt);
        value ? ::setenv(name, value->c_str(), 1) : ::unsetenv(name);
    }
    ~ScopedEnv() {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it)
            it->second ? ::setenv(it->first, it->second->c_str(), 1) : ::unsetenv(it->first);
    }

  private:
    std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
};

// The system store is read from its hashed folder (HASH.0, as
// update-ca-certificates makes it) when there is one, a certificate when a
// chain needs it, rather than by parsing the whole bundle (what that saves
// is measured by bench/relay); SSL_CERT_FILE still names a bundle to use
// instead, and then only it is trusted.
TEST(SmtpPeer, SystemStoreFromItsHashedFolderOrSslCertFile) {
    REQUIRE_PEERS();
    const fs::path dir = fs::temp_directory_path() / ("pb-certs-" + unique_marker());
    fs::create_directories(dir);
    const auto hash =
        pb::test::run_command("openssl x509 -hash -noout -in '" + env("PB_TEST_CA") + "'");
    ASSERT_EQ(hash.status, 0) << hash.out;
    std::string name = hash.out.substr(0, hash.out.find('\n')) + ".0";
    fs::copy_file(env("PB_TEST_CA"), dir / name);
    auto cfg = smtp_peer();
    cfg.tls.system_store = true;
    cfg.tls.ca_files.clear();
    {
        ScopedEnv e;
        e.set("SSL_CERT_FILE", std::nullopt);
        e.set("SSL_CERT_DIR", dir.string());
        ListTokens tokens({device_flow_token()});
        auto t = test_connection(cfg, oauth(tokens));
        EXPECT_TRUE(t.ok()) << t.transcript;
    }
    {
        const fs::path empty = dir / "empty";
        fs::create_directories(empty);
        ScopedEnv e;
        e.set("SSL_CERT_FILE", env("PB_TEST_CA"));
        e.set("SSL_CERT_DIR", empty.string());
        ListTokens tokens({device_flow_token()});
        auto t = test_connection(cfg, oauth(tokens));
        EXPECT_TRUE(t.ok()) << t.transcript;
        e.set("SSL_CERT_FILE", env("PB_UNTRUSTED_CA"));
        t = test_connection(cfg, oauth(tokens));
        ASSERT_TRUE(t.error);
        EXPECT_EQ(t.error->code, Errc::cert_untrusted) << t.error->detail;
    }
    fs::remove_all(dir);
}

TEST(SmtpPeer, WrongNameIs613) {
    REQUIRE_PEERS();
    ListTokens tokens({"unused"});
    auto cfg = smtp_peer();
    cfg.tls.server_name = "smtp.example.com";  // the certificate is for localhost / 127.0.0.1
    auto t = test_connection(cfg, oauth(tokens));
    ASSERT_TRUE(t.error);
    EXPECT_EQ(t.error->code, Errc::cert_name_mismatch) << t.error->detail;
}

TEST(SmtpPeer, VerifyOffAcceptsUntrustedButSaysSo) {
    REQUIRE_PEERS();
    ListTokens tokens({device_flow_token()});
    auto cfg = smtp_peer();
    cfg.tls.verify = false;
    cfg.tls.ca_files.clear();
    auto t = test_connection(cfg, oauth(tokens));
    ASSERT_TRUE(t.ok()) << t.transcript;
    ASSERT_TRUE(t.certificate);
    EXPECT_FALSE(t.certificate->verified);
    EXPECT_NE(t.steps[1].detail.find("not verified"), std::string::npos);
}

TEST(SmtpPeer, StaleTokenForcedRefreshThenSuccess) {
    REQUIRE_PEERS();
    ListTokens tokens({"revoked-or-bogus-token", device_flow_token()});
    auto t = test_connection(smtp_peer(), oauth(tokens));
    EXPECT_TRUE(t.ok()) << t.transcript;
    EXPECT_EQ(tokens.forced_, (std::vector<bool>{false, true}));
}

TEST(SmtpPeer, StillRejectedAfterRefreshIs622) {
    REQUIRE_PEERS();
    ListTokens tokens({"bogus-1", "bogus-2"});
    auto t = test_connection(smtp_peer(), oauth(tokens));
    ASSERT_TRUE(t.error);
    EXPECT_EQ(t.error->code, Errc::auth_rejected);
    EXPECT_EQ(t.transcript.find("bogus"), std::string::npos);
}

TEST(SmtpPeer, PasswordAuthPlain) {
    REQUIRE_PEERS();
    Credentials c;
    c.method = AuthMethod::smtp_auth;
    c.user = "device";
    c.password = Secret("device-pass");
    auto t = test_connection(smtp_peer(), c);
    EXPECT_TRUE(t.ok()) << t.transcript;
}

TEST(SmtpPeer, SeveralMessagesOverOneConnectionOneRefused) {
    REQUIRE_PEERS();
    ListTokens tokens({device_flow_token()});
    const std::string marker = unique_marker();
    std::vector<std::unique_ptr<StringSource>> bodies;
    std::vector<OutgoingMessage> msgs;
    for (int i = 0; i < 5; ++i) {
        bodies.push_back(std::make_unique<StringSource>("Subject: " + marker + "-" +
                                                        std::to_string(i) + "\r\n\r\nx\r\n"));
        const std::string to = i == 2 ? "reject-me@example.test" : "bob@example.test";
        msgs.push_back({{"alice@example.test", {to}, {}, false}, bodies.back().get()});
    }
    auto report = send(smtp_peer(), oauth(tokens), msgs);
    ASSERT_FALSE(report.error) << report.transcript;
    ASSERT_EQ(report.messages.size(), 5u);
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(report.messages[static_cast<std::size_t>(i)].ok(), i != 2) << i;
    EXPECT_EQ(report.messages[2].error->code, Errc::recipient_rejected);
    EXPECT_TRUE(find_delivered(marker + "-4"));
    EXPECT_EQ(tokens.forced_.size(), 1u);  // authenticated once
}

#endif  // PB_INTEROP_ONLY

// ---- Dovecot submission (interop set) --------------------------------------

#ifdef PB_INTEROP_ONLY

// Dovecot matches user= against the token's email claim.
const std::string dovecot_user = "alice@example.test";

ServerConfig dovecot() {
    ServerConfig c = smtp_peer();
    c.host = env("PB_DOVECOT_HOST");
    c.port = static_cast<std::uint16_t>(std::stoi(env("PB_DOVECOT_PORT")));
    return c;
}

#define REQUIRE_DOVECOT()                                                                  \
    do {                                                                                   \
        REQUIRE_PEERS();                                                                   \
        if (!pb::test::Peers::get().find("PB_DOVECOT_PORT")) GTEST_SKIP() << "no dovecot"; \
    } while (0)

TEST(Dovecot, Xoauth2) {
    REQUIRE_DOVECOT();
    ListTokens tokens({device_flow_token()});
    auto t = test_connection(dovecot(), oauth(tokens, dovecot_user));
    EXPECT_TRUE(t.ok()) << t.transcript;
    EXPECT_EQ(t.steps.back().detail, "XOAUTH2");
}

TEST(Dovecot, Oauthbearer) {
    REQUIRE_DOVECOT();
    ListTokens tokens({device_flow_token()});
    auto c = oauth(tokens, dovecot_user);
    c.mechanism = "OAUTHBEARER";
    auto t = test_connection(dovecot(), c);
    EXPECT_TRUE(t.ok()) << t.transcript;
}

// A user name long enough to push the AUTH line past 1 KB (Dovecot refuses
// such a line): the client must send the response after the 334. The token
// is real, so only the line layout is under test.
TEST(Dovecot, LongInitialResponseGoesAfter334) {
    REQUIRE_DOVECOT();
    ListTokens tokens({device_flow_token(std::string(700, 'a'))});
    auto t = test_connection(dovecot(), oauth(tokens, std::string(700, 'a') + "@example.test"));
    EXPECT_NE(t.transcript.find("C: AUTH XOAUTH2\n"), std::string::npos) << t.transcript;
    EXPECT_EQ(t.transcript.find("Line too long"), std::string::npos) << t.transcript;
    EXPECT_TRUE(t.ok()) << t.transcript;
}

TEST(Dovecot, ExpiredTokenForcedRefreshThenSuccess) {
    REQUIRE_DOVECOT();
    ListTokens tokens({"expired-token", device_flow_token()});
    auto t = test_connection(dovecot(), oauth(tokens, dovecot_user));
    EXPECT_TRUE(t.ok()) << t.transcript;
    EXPECT_EQ(tokens.forced_, (std::vector<bool>{false, true}));
}

TEST(Dovecot, NoAuthBeforeTls) {
    REQUIRE_DOVECOT();
    ListTokens tokens({"unused"});
    auto cfg = dovecot();
    cfg.security = Security::none;
    auto t = test_connection(cfg, oauth(tokens, dovecot_user));
    ASSERT_TRUE(t.error);
    EXPECT_TRUE(tokens.forced_.empty())
        << t.transcript;  // nothing offered before TLS: no token leaves
}

#endif  // PB_INTEROP_ONLY

}  // namespace
}  // namespace pb::smtp
