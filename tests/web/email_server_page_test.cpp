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
