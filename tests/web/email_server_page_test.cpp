// Network > Email Server > Basic with the running service: the test email
// sent from the page. (The page's form, validation and Sign In panel are
// in app_test.cpp, over a sign-in that answers one status for all.)
#include "web/app.hpp"

#include <gtest/gtest.h>

#include "web_config_fixture.hpp"

namespace pb::web {
namespace {

using test::Browser;

class EmailServerPageTest : public test::WebConfigTest {};

// Next to Current Status: the lapse to come while signed in, and why the
// sign-in ended once it did.
TEST_F(EmailServerPageTest, CurrentStatusShowsTheLapseWarningAndWhyASignInEnded) {
    Browser b;
    login(b);
    ASSERT_TRUE(store_->set_values({{"email.auth_method", "oauth2"}}));
    auto& s = signin_.states["email"];
    s.state = SignInStatus::State::signed_in;
    s.account = "scanner@contoso.example";
    s.warning = "The sign-in lapses on 2027-01-20T08:00:00Z unless it is used before then.";
    auto page = get(b, "/network/email/basic");
    EXPECT_NE(page.body.find(R"(<p class="warning" id="status-warning">The sign-in lapses on )"
                             R"(2027-01-20T08:00:00Z unless it is used before then.</p>)"),
              std::string::npos)
        << page.body;
    EXPECT_EQ(page.body.find(R"(id="status-reason")"), std::string::npos);

    s = {};
    s.state = SignInStatus::State::expired;
    s.reason = "AADSTS700082: the refresh token has expired <due to inactivity>";
    page = get(b, "/network/email/basic");
    EXPECT_NE(page.body.find(R"(<p class="error" id="status-reason">AADSTS700082: the refresh )"
                             R"(token has expired &lt;due to inactivity&gt;</p>)"),
              std::string::npos)
        << page.body;
    EXPECT_EQ(page.body.find(R"(id="status-warning")"), std::string::npos);
}

TEST_F(EmailServerPageTest, TestEmailFromTheBasicPage) {
    Browser b;
    const auto csrf = login(b);
    EXPECT_NE(get(b, "/network/email/basic").body.find(R"(id="test-email")"), std::string::npos);
    EXPECT_EQ(
        post(b, "/network/email/basic/test-email", "csrf=" + csrf + "&to=bob%40x.test").status,
        303);
    ASSERT_EQ(ops_.sent.size(), 1u);
    EXPECT_EQ(ops_.sent[0].to, std::vector<std::string>{"bob@x.test"});
    EXPECT_NE(get(b, "/network/email/basic").body.find("accepted as job 7"), std::string::npos);
}

}  // namespace
}  // namespace pb::web
