// signin / status / signout / test-connection as a user runs them, against
// the real OAuth server (oidc-provider) and SMTP server (smtp-server) of
// tests/peers: the manual's sign-in from the command line.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/cli_with_peers.hpp"
#include "service/tokens.hpp"
#include "storage/backends.hpp"
#include "store/store.hpp"

namespace pb::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class SigninCli : public CliWithPeers {
  protected:
    // The refresh token the state holds for `profile`, read as serve would.
    std::string stored_refresh_token(const std::string& profile) {
        SystemClock clock;
        SystemRandom rng;
        auto store = storage::open_store(state_, rng, clock);
        if (!store) return {};
        service::SealedTokenStore tokens(**store);
        auto t = tokens.load(profile);
        return t && *t ? std::string((*t)->refresh_token.reveal()) : std::string();
    }
    // What the OAuth server says of a token (tests/peers/introspect.mjs).
    static json introspect(const std::string& token) {
        const auto& p = Peers::get();
        auto r = run_command(p.at("PB_NODE") + " " + p.at("PB_PEERS_DIR") + "/introspect.mjs " +
                             token + " --issuer " + p.at("PB_OIDC_ISSUER"));
        EXPECT_EQ(r.status, 0) << r.out;
        return json::parse(r.out, nullptr, false);
    }
};

TEST_F(SigninCli, ApprovedCodeSignsInAndStatusSaysSo) {
    EXPECT_EQ(status_json()["status"], "signed-out");
    auto lines = signin_as_user("approve");
    ASSERT_GE(lines.size(), 3U);
    const json& first = lines.front();
    EXPECT_EQ(first["event"], "device_code");
    // The manual's sentence, exactly (design.md "signin").
    EXPECT_EQ(first["message"], "To sign in, use a web browser to open the page " +
                                    first["verification_uri"].get<std::string>() +
                                    " and enter the code " + first["user_code"].get<std::string>() +
                                    " to authenticate.");
    const json& last = lines[lines.size() - 2];
    EXPECT_EQ(last["event"], "signed_in");
    EXPECT_EQ(last["account"], "alice@example.test");
    EXPECT_EQ(lines.back(), 0);  // exit status

    const json st = status_json();
    EXPECT_EQ(st["status"], "signed-in");
    EXPECT_EQ(st["account"], "alice@example.test");
    EXPECT_TRUE(st.contains("access_token_expires_at"));
    EXPECT_TRUE(st.contains("keepalive_due_at"));

    // Nothing secret in what status prints.
    auto human = pb("status");
    EXPECT_NE(human.out.find("Current Status                 Signed in"), std::string::npos)
        << human.out;
}

TEST_F(SigninCli, DeniedCodeFailsWithTheReason) {
    auto lines = signin_as_user("deny");
    ASSERT_GE(lines.size(), 2U);
    const json& failed = lines[lines.size() - 2];
    EXPECT_EQ(failed["event"], "failed");
    EXPECT_EQ(failed["error"], "access_denied");
    EXPECT_EQ(failed["code"], 360);
    EXPECT_EQ(lines.back(), 1);
    EXPECT_EQ(status_json()["status"], "signed-out");
}

TEST_F(SigninCli, ANewerSignInEndsTheOneThatIsOut) {
    const fs::path first_out = state_.string() + ".first";
    auto first = signin_in_background(first_out);
    ASSERT_FALSE(shown_code(first_out).empty()) << "the first signin showed no code";

    // The second one takes the profile; the first ends at its next poll.
    auto second = signin_as_user("approve");
    first.join();
    auto lines = json_lines(first_out);
    ASSERT_GE(lines.size(), 2U);
    const json& failed = lines[lines.size() - 2];
    EXPECT_EQ(failed["event"], "failed");
    EXPECT_EQ(failed["error"], "cancelled");
    EXPECT_EQ(failed["code"], 360);
    EXPECT_EQ(failed["reason"], "a newer sign-in of email replaced this one");
    EXPECT_EQ(lines.back(), 1);
    ASSERT_GE(second.size(), 2U);
    EXPECT_EQ(second[second.size() - 2]["event"], "signed_in");
    EXPECT_EQ(status_json()["status"], "signed-in");
}

TEST_F(SigninCli, TestConnectionAuthenticatesWithTheSignIn) {
    (void)signin_as_user("approve");
    auto r = pb("test-connection --json");
    ASSERT_EQ(r.status, 0) << r.out;
    auto j = json::parse(r.out);
    EXPECT_TRUE(j["ok"].get<bool>());
    ASSERT_EQ(j["steps"].size(), 4U);
    EXPECT_EQ(j["steps"][3]["step"], "auth");
    EXPECT_EQ(j["steps"][3]["detail"], "XOAUTH2");
    EXPECT_EQ(j["certificate"]["subject"], "CN=localhost");
}

TEST_F(SigninCli, UntrustedServerCertificateIs612) {
    (void)signin_as_user("approve");
    auto list = pb("ca list --json");
    auto id = json::parse(list.out.substr(0, list.out.find('\n')))["id"].get<std::string>();
    ASSERT_EQ(pb("ca remove " + id).status, 0);
    auto r = pb("test-connection --json");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(json::parse(r.out)["code"], 612) << r.out;
}

TEST_F(SigninCli, SignOutRevokesAtTheProvider) {
    (void)signin_as_user("approve");
    auto r = pb("signout --json");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(json::parse(r.out)["revoked"].get<bool>()) << r.out;
    EXPECT_EQ(status_json()["status"], "signed-out");
    auto t = pb("test-connection --json");
    EXPECT_EQ(t.status, 1);
    EXPECT_EQ(json::parse(t.out)["code"], 360) << t.out;
}

// The manual's "Any other email services signed in will be signed out
// automatically", from the command line: a new service ends the sign-in
// that belonged to the old one and revokes it at the old provider (the real
// OAuth server's revocation endpoint).
TEST_F(SigninCli, ANewServiceSignsTheOldOneOutAndRevokesIt) {
    (void)signin_as_user("approve");
    ASSERT_EQ(status_json()["status"], "signed-in");
    const std::string refresh = stored_refresh_token("email");
    ASSERT_FALSE(refresh.empty());
    ASSERT_TRUE(introspect(refresh)["active"].get<bool>());
    auto r = pb("config set email.service outlook-com --json");
    ASSERT_EQ(r.status, 0) << r.out;
    json ended;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
        if (auto j = json::parse(line, nullptr, false); j.is_object() && j.contains("signed_out"))
            ended = j;
    ASSERT_FALSE(ended.is_null()) << r.out;
    EXPECT_EQ(ended["signed_out"], "email");
    EXPECT_EQ(ended["account"], "alice@example.test");
    EXPECT_TRUE(ended["revoked"].get<bool>()) << r.out;
    // Revoked at the OAuth server itself, not only forgotten here.
    EXPECT_FALSE(introspect(refresh)["active"].get<bool>());
    EXPECT_EQ(status_json()["status"], "signed-out");
    EXPECT_EQ(status_json()["service"], "outlook-com");
    // A setting the sign-in does not belong to ends nothing.
    auto again = pb("config set email.sender scans@example.test --json");
    ASSERT_EQ(again.status, 0) << again.out;
    EXPECT_EQ(again.out.find("signed_out"), std::string::npos) << again.out;
}

TEST_F(SigninCli, UserProfileSignsInAsTheUser) {
    ASSERT_EQ(pb("users add bob --email bob@example.test").status, 0);
    auto lines = signin_as_user("approve", "user:bob", "bob");
    ASSERT_GE(lines.size(), 2U);
    EXPECT_EQ(lines[lines.size() - 2]["account"], "bob@example.test");
    EXPECT_EQ(status_json("user:bob")["status"], "signed-in");
    EXPECT_EQ(status_json("email")["status"], "signed-out");  // one sign-in per profile
}

// The manual's whole path: signed in, a send goes out with XOAUTH2 and
// lands at the real server; signed out, the job is held with 360.
TEST_F(SigninCli, SendAfterSignInGoesOutWithXoauth2) {
    auto held = pb("send --to bob@example.test --subject before --body x --wait");
    EXPECT_EQ(held.status, 75) << held.out;
    EXPECT_NE(
        held.out.find("To use this function, you must sign in to the email service. Contact the "
                      "administrator."),
        std::string::npos)
        << held.out;
    (void)signin_as_user("approve");
    const std::string subject = "xoauth2-" + std::to_string(::getpid());
    auto r = pb("send --to bob@example.test --subject " + subject + " --body hello --wait");
    ASSERT_EQ(r.status, 0) << r.out;
    // The message and its envelope in the server's maildir.
    bool found = false;
    for (const auto& e : fs::directory_iterator(Peers::get().at("PB_MAILDIR") + "/new")) {
        if (e.path().extension() == ".json") continue;
        std::ifstream in(e.path());
        const std::string msg((std::istreambuf_iterator<char>(in)), {});
        if (msg.find("Subject: " + subject) == std::string::npos) continue;
        found = true;
        std::ifstream env(e.path().string() + ".envelope.json");
        const auto j = json::parse(env, nullptr, false);
        EXPECT_EQ(j.value("user", ""), "alice@example.test");
        EXPECT_EQ(j.value("transmissionType", ""), "ESMTPSA");
    }
    EXPECT_TRUE(found) << "no message with subject " << subject;
    auto jobs = pb("jobs --json --limit 1");
    EXPECT_NE(jobs.out.find(R"("state":"sent")"), std::string::npos) << jobs.out;
}

// On a terminal, `send --wait` shows how much of the message has gone out,
// rewriting one line, then that it waits for the server's answer; piped,
// none of it.
TEST_F(SigninCli, SendWaitShowsProgressOnATerminalOnly) {
    (void)signin_as_user("approve");
    const std::string scan = state_.string() + "-scan.tif";
    {
        std::ofstream f(scan, std::ios::binary);
        std::string block(1 << 16, '\0');
        for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 7 % 251);
        for (int i = 0; i < 48; ++i) f << block;  // 3 MB
    }
    const std::string send = binary_path() + " --state " + state_.string() +
                             " send --to bob@example.test --subject progress --body x --attach " +
                             scan + " --wait";
    // script(1) (util-linux, in every Debian) gives the command a terminal.
    const auto tty = run_command("script -qec '" + send + "' /dev/null 2>&1");
    EXPECT_EQ(tty.status, 0) << tty.out;
    const auto waiting = tty.out.find("(100%); waiting for the server's answer");
    ASSERT_NE(waiting, std::string::npos) << tty.out;
    EXPECT_NE(tty.out.find("\rjob "), std::string::npos) << tty.out;
    EXPECT_NE(tty.out.find(" of 4."), std::string::npos)
        << "the size of the encoded message: " << tty.out;
    EXPECT_NE(tty.out.find(": sent", waiting), std::string::npos) << "no answer after: " << tty.out;

    const auto piped =
        pb("send --to bob@example.test --subject piped --body x --attach " + scan + " --wait");
    EXPECT_EQ(piped.status, 0) << piped.out;
    EXPECT_EQ(piped.out.find("waiting for the server"), std::string::npos) << piped.out;
    EXPECT_EQ(piped.out.find('\r'), std::string::npos) << piped.out;
    fs::remove(scan);
}

TEST_F(SigninCli, SigninNeedsOAuth2) {
    ASSERT_EQ(pb("config set email.auth_method smtp-auth").status, 0);
    auto r = pb("signin");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.out.find("email.auth_method oauth2"), std::string::npos) << r.out;
}

TEST_F(SigninCli, CustomServiceWithoutIssuerSaysWhatToSet) {
    ASSERT_EQ(pb("config set email.oauth.issuer ''").status, 0);
    auto r = pb("signin --json");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(json::parse(r.out)["code"], 643);
    EXPECT_NE(r.out.find("email.oauth.issuer"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pb::test
