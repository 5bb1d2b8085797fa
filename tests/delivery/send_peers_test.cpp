// End to end against the real peers (tests/peers): `postbridge send --wait`
// and `sendmail` through the real smtp-server over STARTTLS with the test
// CA, delivered to its maildir; a refused recipient makes a partial job; a
// server that is down leaves the job queued, and `flush` delivers it later;
// an OAuth profile never signed in holds its job with 360.
//
// These run the postbridge binary: the contract under test is the command
// line's (exit statuses, JSON).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <vector>

#include "support/peers.hpp"
#include "support/temp_dir.hpp"

namespace pb {
namespace {

namespace fs = std::filesystem;

class SendPeersTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto& peers = test::Peers::get();
        if (!peers.available()) GTEST_SKIP() << "needs the peers fixture";
        state_ = test::fresh_dir("pb-send");
        fs::create_directories(state_);
        port_ = peers.at("PB_SMTP_PORT");
        maildir_ = peers.at("PB_MAILDIR");
        for (const std::string& kv :
             std::vector<std::string>{"email.auth_method smtp-auth", "email.smtp.host 127.0.0.1",
                                      "email.smtp.port " + port_, "email.smtp.security starttls",
                                      "email.sender device@example.test", "email.account device",
                                      "email.delivery.rate_limit 0"})
            ASSERT_EQ(pb("config set " + kv).status, 0) << kv;
        ASSERT_EQ(pb("ca import " + peers.at("PB_TEST_CA")).status, 0);
        ASSERT_EQ(run("printf device-pass | " + cmd("config set email.password -")).status, 0);
    }
    void TearDown() override {
        if (!state_.empty()) fs::remove_all(state_);
    }
    std::string cmd(const std::string& args) {
        return test::binary_path() + " --state " + state_.string() + " " + args;
    }
    test::CommandResult run(const std::string& shell) {
        return test::run_command(shell + " 2>/dev/null");
    }
    test::CommandResult pb(const std::string& args) { return run(cmd(args)); }
    bool in_maildir(const std::string& needle) {
        for (const auto& e : fs::recursive_directory_iterator(maildir_)) {
            if (!e.is_regular_file() || e.path().string().ends_with(".json")) continue;
            std::ifstream f(e.path());
            std::string s{std::istreambuf_iterator<char>(f), {}};
            if (s.find(needle) != std::string::npos) return true;
        }
        return false;
    }
    nlohmann::json last_json(const std::string& out) {
        auto lines = out;
        while (!lines.empty() && lines.back() == '\n') lines.pop_back();
        const auto nl = lines.rfind('\n');
        return nlohmann::json::parse(nl == std::string::npos ? lines : lines.substr(nl + 1),
                                     nullptr, false);
    }
    std::string unique(const std::string& what) {
        return what + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n_);
    }

    fs::path state_;
    std::string port_, maildir_;
    int n_ = 0;
};

TEST_F(SendPeersTest, SendWaitDeliversToMaildirAndHistoryShowsSent) {
    const auto subject = unique("wait");
    auto r = pb("--json send --to rcpt@example.test --subject " + subject + " --body hello --wait");
    ASSERT_EQ(r.status, 0) << r.out;
    auto j = last_json(r.out);
    EXPECT_EQ(j["state"], "sent") << r.out;
    EXPECT_TRUE(in_maildir(subject));
    auto show = pb("--json jobs show " + std::to_string(j["job"].get<int>()));
    EXPECT_EQ(last_json(show.out)["state"], "sent");
}

TEST_F(SendPeersTest, PartialRecipientFailureExitsOneWithPerRecipientResults) {
    auto r = pb("--json send --to ok@example.test,reject-me@example.test --subject " +
                unique("partial") + " --body x --wait");
    EXPECT_EQ(r.status, 1) << r.out;
    auto j = last_json(r.out);
    EXPECT_EQ(j["state"], "partial") << r.out;
    EXPECT_EQ(j["recipients"][0]["result"], "accepted");
    EXPECT_EQ(j["recipients"][1]["result"], "rejected");
    EXPECT_EQ(j["recipients"][1]["code"], 632);
}

TEST_F(SendPeersTest, ServerDownQueuesAndFlushDeliversWhenItIsBack) {
    ASSERT_EQ(pb("config set email.smtp.port 1").status, 0);  // nothing listens there
    const auto subject = unique("down");
    auto r = pb("--json send --to rcpt@example.test --subject " + subject +
                " --body x --wait --timeout 5");
    EXPECT_EQ(r.status, 75) << r.out;
    auto j = last_json(r.out);
    EXPECT_EQ(j["state"], "queued") << r.out;
    EXPECT_EQ(j["code"], 602);
    ASSERT_EQ(pb("config set email.smtp.port " + port_).status, 0);
    const std::string id = std::to_string(j["job"].get<int>());
    // Not yet due (backoff): retry puts it back now, flush sends it.
    ASSERT_EQ(pb("jobs retry " + id).status, 0);
    ASSERT_EQ(pb("flush").status, 0);
    EXPECT_EQ(last_json(pb("--json jobs show " + id).out)["state"], "sent");
    EXPECT_TRUE(in_maildir(subject));
}

TEST_F(SendPeersTest, NeverSignedInHoldsWith360AndTellsTheCaller) {
    ASSERT_EQ(pb("config set email.auth_method oauth2").status, 0);
    auto r = test::run_command(
        cmd("--json send --to rcpt@example.test --subject s --body x --wait") + " 2>&1");
    EXPECT_EQ(r.status, 75) << r.out;
    EXPECT_NE(r.out.find("To use this function, you must sign in to the email service. Contact the "
                         "administrator."),
              std::string::npos)
        << r.out;
    auto j = last_json(r.out);
    EXPECT_EQ(j["state"], "held");
    EXPECT_EQ(j["code"], 360);
    EXPECT_EQ(j["status"], "No connection with the cloud service or email service.");
}

TEST_F(SendPeersTest, SendmailAcceptsAndDelivers) {
    const auto subject = unique("sendmail");
    auto r = run("printf 'Subject: " + subject + "\\n\\nbody\\n' | " +
                 cmd("sendmail -oi rcpt@example.test"));
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(in_maildir(subject));
}

TEST_F(SendPeersTest, SendmailRewritesAForeignFromAndKeepsItInReplyTo) {
    // sender_policy rewrite (the default): the service sends only as the
    // profile's mailbox, so From becomes it and the device's From is kept
    // for replies; the job history shows the subject.
    const auto subject = unique("rewrite");
    auto r = run("printf 'From: Scanner 3F <scanner@printers.example>\nSubject: " + subject +
                 "\n\nbody\n' | " + cmd("sendmail -oi rcpt@example.test"));
    ASSERT_EQ(r.status, 0) << r.out;
    std::string message;
    for (const auto& e : fs::recursive_directory_iterator(maildir_)) {
        if (!e.is_regular_file() || e.path().string().ends_with(".json")) continue;
        std::ifstream f(e.path());
        std::string text{std::istreambuf_iterator<char>(f), {}};
        if (text.find(subject) != std::string::npos) message = text;
    }
    ASSERT_FALSE(message.empty());
    EXPECT_NE(message.find("From: Scanner 3F <device@example.test>\r\n"), std::string::npos)
        << message;
    EXPECT_NE(message.find("Reply-To: Scanner 3F <scanner@printers.example>\r\n"),
              std::string::npos)
        << message;
    auto jobs = last_json(pb("jobs --json --limit 1").out);
    EXPECT_EQ(jobs.value("subject", ""), subject);
    EXPECT_EQ(jobs.value("sender", ""), "device@example.test");
}

TEST_F(SendPeersTest, InvalidAddressIsRefusedWith652AndExit2) {
    auto r = pb("--json send --to 'not an address' --subject s --body x");
    EXPECT_EQ(r.status, 2) << r.out;
}

}  // namespace
}  // namespace pb
