// POP before SMTP from the command line, against the real Dovecot POP3
// service of the interop fixture and the real smtp-server: test-connection
// shows the POP3 login as its first step, and a wrong password stops there
// with 622 and the server's refusal.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/peers.hpp"
#include "support/temp_dir.hpp"

namespace pb::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class Pop3Cli : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto& p = Peers::get();
        ASSERT_TRUE(p.available()) << "the interop fixture is not running";
        state_ = test::fresh_dir("pb-pop3");
        for (const std::string& kv : std::vector<std::string>{
                 "email.auth_method pop-before-smtp", "email.smtp.host 127.0.0.1",
                 "email.smtp.port " + p.at("PB_SMTP_PORT"),
                 "email.pop3.host " + p.at("PB_POP3_HOST"),
                 "email.pop3.port " + p.at("PB_POP3_PORT"), "email.pop3.security starttls",
                 "email.account " + p.at("PB_POP3_USER"), "email.sender device@example.test"})
            ASSERT_EQ(pb("config set " + kv).status, 0) << kv;
        ASSERT_EQ(pb("ca import " + p.at("PB_TEST_CA")).status, 0);
    }
    void TearDown() override { fs::remove_all(state_); }

    CommandResult pb(const std::string& args) {
        return run_command(binary_path() + " --state " + state_.string() + " " + args + " 2>&1");
    }
    void set_password(const std::string& pw) {
        ASSERT_EQ(run_command("printf '%s' '" + pw + "' | " + binary_path() + " --state " +
                              state_.string() + " config set email.password -")
                      .status,
                  0);
    }

    fs::path state_;
};

TEST_F(Pop3Cli, TestConnectionLogsInToPop3First) {
    set_password(Peers::get().at("PB_POP3_PASSWORD"));
    auto r = pb("test-connection --json");
    ASSERT_EQ(r.status, 0) << r.out;
    auto j = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    ASSERT_FALSE(j["steps"].empty());
    EXPECT_EQ(j["steps"][0]["step"], "pop3");
    EXPECT_TRUE(j["steps"][0]["ok"].get<bool>());
    EXPECT_TRUE(j["ok"].get<bool>());
}

TEST_F(Pop3Cli, WrongPasswordStopsAtThePop3StepWith622) {
    set_password("not-the-password");
    auto r = pb("test-connection --json");
    EXPECT_EQ(r.status, 1) << r.out;
    auto j = json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j.value("code", 0), 622);
    ASSERT_EQ(j["steps"].size(), 1U);
    EXPECT_EQ(j["steps"][0]["step"], "pop3");
    EXPECT_FALSE(j["steps"][0]["ok"].get<bool>());
    EXPECT_EQ(r.out.find("not-the-password"), std::string::npos) << "the password leaked";
}

TEST_F(Pop3Cli, SendWaitDeliversAfterThePop3Login) {
    // smtp-server insists on AUTH, so the SMTP side here is the interop
    // set's plain sink (no AUTH, no TLS), as a POP-before-SMTP server is;
    // tests/pop3's pairing test has a server that checks the POP3 login.
    const auto& p = Peers::get();
    ASSERT_EQ(pb("config set email.smtp.port " + p.at("PB_SINK_PORT")).status, 0);
    ASSERT_EQ(pb("config set email.smtp.security none").status, 0);
    set_password(p.at("PB_POP3_PASSWORD"));
    const std::string subject = "pop-before-smtp-" + std::to_string(::getpid());
    auto r = pb("send --wait --json --to bob@example.test --subject " + subject + " --body hi");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("\"state\":\"sent\""), std::string::npos) << r.out;
    // And the POP3 login happened before it: a wrong password stops the job.
    set_password("not-the-password");
    auto refused = pb("send --wait --json --to bob@example.test --subject x --body hi");
    EXPECT_NE(refused.status, 0) << refused.out;
    EXPECT_NE(refused.out.find("\"code\":622"), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace pb::test
