// Product Security > Change Administrator Password: the current password,
// the length rule and the confirmation.
#include "web/app.hpp"

#include <gtest/gtest.h>

#include "core/crypto.hpp"

#include "web_config_fixture.hpp"

namespace pb::web {
namespace {

using test::Browser;
using test::kPassword;

class ProductSecurityPageTest : public test::WebConfigTest {};

TEST_F(ProductSecurityPageTest, AdministratorPasswordChange) {
    Browser b;
    const auto csrf = login(b);
    auto form = [&](std::string cur, std::string n, std::string c) {
        return "csrf=" + csrf + "&current=" + url_encode(cur) + "&new=" + url_encode(n) +
               "&confirm=" + url_encode(c);
    };
    EXPECT_EQ(
        post(b, "/product-security", form("wrong", "new password 1", "new password 1")).status,
        403);
    const auto short_pw =
        post(b, "/product-security", form(std::string(kPassword), "short", "short"));
    EXPECT_NE(short_pw.body.find("the password must have at least 8 characters"),
              std::string::npos);
    EXPECT_EQ(
        post(b, "/product-security", form(std::string(kPassword), "new password 1", "other one"))
            .status,
        400);
    const auto ok = post(b, "/product-security",
                         form(std::string(kPassword), "new password 1", "new password 1"));
    EXPECT_NE(ok.body.find("The administrator password was changed."), std::string::npos);
    EXPECT_TRUE(verify_password(Secret(std::string("new password 1")),
                                **store_->credential("admin", "admin")));
}

// Row "the administrator password changed: other sessions stay valid":
// every other session ends; the one that changed it stays.
TEST_F(ProductSecurityPageTest, PasswordChangeEndsEveryOtherSession) {
    Browser here;
    Browser elsewhere;
    elsewhere.client = "192.0.2.10";
    const auto csrf = login(here);
    login(elsewhere);
    const auto ok = post(here, "/product-security",
                         "csrf=" + csrf + "&current=" + url_encode(std::string(kPassword)) +
                             "&new=new+password+1&confirm=new+password+1");
    EXPECT_NE(ok.body.find("The administrator password was changed."), std::string::npos);
    EXPECT_EQ(get(here, "/network/email/basic").status, 200);
    EXPECT_EQ(get(elsewhere, "/network/email/basic").status, 303);
}

// `postbridge admin-password set` while serve runs: it writes the store,
// and the sessions made with the old password end at their next request.
TEST_F(ProductSecurityPageTest, PasswordSetOnTheCommandLineEndsEverySession) {
    Browser here;
    login(here);
    ASSERT_EQ(get(here, "/network/email/basic").status, 200);
    ASSERT_TRUE(
        store_->put_credential("admin", "admin", hash_password(Secret("set elsewhere 1"), rng_)));
    const auto after = get(here, "/network/email/basic");
    EXPECT_EQ(after.status, 303);
    ASSERT_NE(after.header("Location"), nullptr);
    EXPECT_EQ(*after.header("Location"), "/login");
}

}  // namespace
}  // namespace pb::web
