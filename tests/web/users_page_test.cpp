// Device Management > Users (Scan to My Email): registering with the
// store's words, each user's own sign-in, and the missing consent.
#include "web/users_page.hpp"

#include <gtest/gtest.h>

#include "web/html.hpp"

#include "web_config_fixture.hpp"

namespace pb::web {
namespace {

using nlohmann::json;
using test::Browser;

class UsersPageTest : public test::WebConfigTest {};

TEST_F(UsersPageTest, UsersAreRegisteredWithTheStoresWordsAndSignInOnTheirOwn) {
    Browser b;
    const auto csrf = login(b);
    const auto bad =
        post(b, "/device-management/users/add", "csrf=" + csrf + "&name=Bad+Name&email=x%40y.test");
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find(escape(store_->add_user("Bad Name", "x@y.test").error().detail)),
              std::string::npos);
    EXPECT_EQ(post(b, "/device-management/users/add",
                   "csrf=" + csrf + "&name=alice&email=alice%40example.test")
                  .status,
              303);
    EXPECT_NE(get(b, "/device-management/users").body.find("alice@example.test"),
              std::string::npos);

    const auto start = post(b, "/device-management/users/signin",
                            "csrf=" + csrf + "&profile=user%3Aalice&action=start");
    EXPECT_EQ(*start.header("Location"), "/device-management/users?user=alice");
    ASSERT_EQ(signin_.started, std::vector<std::string>{"user:alice"});
    const auto pending = get(b, "/device-management/users?user=alice");
    EXPECT_NE(pending.body.find("WDJB-MJHT"), std::string::npos);
    EXPECT_NE(pending.body.find(std::string("data-done=\"") + escape(kUserSignedIn)),
              std::string::npos);
    EXPECT_EQ(signin_.status("email").state, SignInStatus::State::signed_out);  // its own sign-in

    SignInStatus in;
    in.state = SignInStatus::State::signed_in;
    in.account = "alice@example.test";
    signin_.states["user:alice"] = in;
    EXPECT_NE(get(b, "/device-management/users?user=alice").body.find(std::string(kUserSignedIn)),
              std::string::npos);
    const auto poll = get(b, "/api/signin-status?profile=user%3Aalice");
    EXPECT_EQ(json::parse(poll.body)["status"], "Signed in");
    EXPECT_EQ(get(b, "/api/signin-status?profile=user%3Aghost").status, 404);

    SignInStatus refused;
    refused.reason = "Consent is missing (AADSTS65001): an administrator must first sign in";
    signin_.states["user:alice"] = refused;
    EXPECT_NE(get(b, "/device-management/users").body.find(R"(id="consent-missing")"),
              std::string::npos);
}

}  // namespace
}  // namespace pb::web
