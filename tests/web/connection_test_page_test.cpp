// Network > Email Server > Connection Test: each step and the code of what
// the service reports, and a test that runs beside the pages.
#include "web/app.hpp"

#include <gtest/gtest.h>

#include "web_config_fixture.hpp"

namespace pb::web {
namespace {

using nlohmann::json;
using test::Browser;

class ConnectionTestPageTest : public test::WebConfigTest {};

TEST_F(ConnectionTestPageTest, ConnectionTestShowsEachStepAndTheCode) {
    Browser b;
    const auto csrf = login(b);
    ops_.test_result = json::parse(R"({"profile":"email","ok":false,
        "steps":[{"step":"connect","ok":true,"detail":"127.0.0.1:2587"},
                 {"step":"tls","ok":false,"detail":"certificate verify failed"}],
        "code":612,"status":"The server certificate is not trusted.",
        "remedy":"Import the CA <certificate>.","error":"verify failed"})");
    const auto started =
        post(b, "/network/email/connection-test", "csrf=" + csrf + "&profile=email");
    ASSERT_EQ(started.status, 303);
    ASSERT_NE(started.header("Location"), nullptr);
    EXPECT_EQ(*started.header("Location"), "/network/email/connection-test?profile=email");
    EXPECT_EQ(ops_.tests_started, std::vector<std::string>{"email"});
    const auto r = get(b, *started.header("Location"));
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(
        r.body.find(
            R"(<tr data-step="tls"><td>Secure connection</td><td class="failed">Failed</td><td>612</td>)"),
        std::string::npos);
    EXPECT_NE(r.body.find(R"(<span id="test-code">612</span>)"), std::string::npos);
    EXPECT_NE(r.body.find("Import the CA &lt;certificate&gt;."), std::string::npos);
    EXPECT_EQ(r.body.find("<certificate>"), std::string::npos);
    const auto bad = post(b, "/network/email/connection-test", "csrf=" + csrf + "&profile=nosuch");
    EXPECT_NE(bad.body.find("Code 652: no profile nosuch"), std::string::npos);
    EXPECT_EQ(ops_.tests_started.size(), 1U)
        << "nothing is started for a profile that is not there";
}

TEST_F(ConnectionTestPageTest, TheConnectionTestRunsBesideThePagesAndItsResultShowsOnce) {
    // Against a server that does not answer, the test lasts as long as the
    // timeout: the page says so and reloads, and the other pages answer.
    Browser b;
    const auto csrf = login(b);
    ops_.test_done = false;
    ops_.test_result = json::parse(R"({"profile":"email","ok":true,
        "steps":[{"step":"connect","ok":true,"detail":"127.0.0.1:2587"}]})");
    const auto started =
        post(b, "/network/email/connection-test", "csrf=" + csrf + "&profile=email");
    ASSERT_EQ(started.status, 303);
    const auto waiting = get(b, "/network/email/connection-test?profile=email");
    EXPECT_NE(waiting.body.find(R"(id="test-running" data-refresh="1")"), std::string::npos);
    EXPECT_EQ(waiting.body.find("test-result"), std::string::npos);
    EXPECT_EQ(get(b, "/device-management/jobs").status, 200);
    // A second Start while it runs is harmless (the service runs one).
    post(b, "/network/email/connection-test", "csrf=" + csrf + "&profile=email");
    ops_.test_done = true;
    const auto done = get(b, "/network/email/connection-test?profile=email");
    EXPECT_NE(done.body.find("The connection test succeeded. No mail was sent."),
              std::string::npos);
    EXPECT_EQ(done.body.find("test-running"), std::string::npos);
    const auto again = get(b, "/network/email/connection-test?profile=email");
    EXPECT_EQ(again.body.find("test-result"), std::string::npos) << "a result is shown once";
    EXPECT_EQ(again.body.find("test-running"), std::string::npos);
}

}  // namespace
}  // namespace pb::web
