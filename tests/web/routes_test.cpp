// The route table as a visitor and the administrator meet it: which paths
// are open without a session, where a visitor is sent or refused, what an
// unknown path or method answers, HEAD as GET, the assets' caching, and CSRF
// on every form.
#include "web/app.hpp"

#include <gtest/gtest.h>

#include "web_config_fixture.hpp"

namespace pb::web {
namespace {

using test::Browser;

class RoutesTest : public test::WebConfigTest {
  protected:
    Response send(Browser* b, std::string method, std::string path) {
        Request r;
        r.method = std::move(method);
        r.path = std::move(path);
        return call(r, b);
    }
    static std::string location(const Response& r) {
        const auto* l = r.header("Location");
        return l == nullptr ? std::string() : *l;
    }
};

TEST_F(RoutesTest, HeadIsAnsweredAsGet) {
    Browser visitor;
    EXPECT_EQ(send(&visitor, "HEAD", "/login").status, 200);
    EXPECT_EQ(send(&visitor, "HEAD", "/assets/app.js").status, 200);
    Browser admin;
    login(admin);
    EXPECT_EQ(send(&admin, "HEAD", "/device-management/jobs").status, 200);
    EXPECT_EQ(location(send(&admin, "HEAD", "/")), "/network/email/basic");
}

TEST_F(RoutesTest, TheAssetsAreOpenAndMayBeCachedWhenRevalidated) {
    Browser visitor;
    const auto js = get(visitor, "/assets/app.js");
    EXPECT_EQ(js.status, 200);
    EXPECT_EQ(*js.header("Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(*js.header("Cache-Control"), "no-cache");
    const auto css = get(visitor, "/assets/style.css");
    EXPECT_EQ(css.status, 200);
    EXPECT_EQ(*css.header("Content-Type"), "text/css; charset=utf-8");
    EXPECT_EQ(*css.header("Cache-Control"), "no-cache");
    EXPECT_EQ(send(&visitor, "POST", "/assets/app.js").status, 403);
    Browser admin;
    login(admin);
    EXPECT_EQ(send(&admin, "POST", "/assets/app.js").status, 404);
}

TEST_F(RoutesTest, AVisitorIsSentToTheLoginPageOrRefused) {
    Browser visitor;
    for (const auto* path : {"/", "/network/email/basic", "/device-management", "/nope",
                             "/device-management/jobs/3", "/logout"}) {
        const auto r = send(&visitor, "GET", path);
        EXPECT_EQ(r.status, 303) << path;
        EXPECT_EQ(location(r), "/login") << path;
    }
    // Another method on an open path is a request for the administrator.
    EXPECT_EQ(location(send(&visitor, "PUT", "/login")), "/login");
    EXPECT_EQ(location(send(&visitor, "DELETE", "/nope")), "/login");
    // A form post or a script's call is refused: a redirect would lose it.
    for (const auto* path : {"/network/email/basic", "/nope", "/device-management/jobs/3/retry"}) {
        const auto r = send(&visitor, "POST", path);
        EXPECT_EQ(r.status, 403) << path;
        EXPECT_EQ(r.body, "Log in first.\n") << path;
    }
    EXPECT_EQ(send(&visitor, "GET", "/api/signin-status").status, 403);
    EXPECT_EQ(send(&visitor, "GET", "/api/nope").status, 403);
    EXPECT_EQ(send(&visitor, "PUT", "/api/v1x").status, 403);
}

TEST_F(RoutesTest, TheJsonApiAnswersForItselfWithoutASession) {
    Browser visitor;
    for (const auto* path : {"/api/v1", "/api/v1/", "/api/v1/nope", "/api/v1/status"}) {
        const auto r = send(&visitor, "GET", path);
        EXPECT_EQ(r.status, 401) << path;
        ASSERT_NE(r.header("WWW-Authenticate"), nullptr) << path;
    }
    EXPECT_EQ(api("PUT", "/api/v1/status").status, 405);
    EXPECT_EQ(api("GET", "/api/v1/nope").status, 404);
}

TEST_F(RoutesTest, TheAdministratorGetsNotFoundOrMethodNotAllowed) {
    Browser admin;
    login(admin);
    EXPECT_EQ(location(get(admin, "/")), "/network/email/basic");
    EXPECT_EQ(location(get(admin, "/device-management")), "/device-management/jobs");
    for (const auto& [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/nope"},
                                                          {"POST", "/nope"},
                                                          {"POST", "/device-management/jobs"},
                                                          {"GET", "/network/email/basic/signin"},
                                                          {"GET", "/logout"},
                                                          {"POST", "/device-management"},
                                                          {"GET", "/device-management/jobs/"},
                                                          {"GET", "/api/nope"}}) {
        const auto r = send(&admin, method, path);
        EXPECT_EQ(r.status, 404) << method << " " << path;
        EXPECT_EQ(r.body, "Not found.\n") << method << " " << path;
    }
    for (const auto& [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"PUT", "/nope"},
                                                          {"DELETE", "/network/email/basic"},
                                                          {"PUT", "/login"},
                                                          {"OPTIONS", "/device-management/jobs"},
                                                          {"PUT", "/device-management/jobs/"}}) {
        const auto r = send(&admin, method, path);
        EXPECT_EQ(r.status, 405) << method << " " << path;
        ASSERT_NE(r.header("Allow"), nullptr) << method << " " << path;
        EXPECT_EQ(*r.header("Allow"), "GET, POST");
    }
}

TEST_F(RoutesTest, EveryPathUnderAJobThatIsNotOneIsNotFoundWhateverTheMethod) {
    Browser admin;
    login(admin);
    ops_.history = {{{"job", 3}, {"state", "failed"}}};
    EXPECT_EQ(get(admin, "/device-management/jobs/3").status, 200);
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"PUT", "/device-management/jobs/3"},
             {"POST", "/device-management/jobs/3"},
             {"GET", "/device-management/jobs/3/retry"},
             {"DELETE", "/device-management/jobs/3/retry"},
             {"POST", "/device-management/jobs/abc/retry"},
             {"GET", "/device-management/jobs/0"},
             {"GET", "/device-management/jobs/-1"},
             {"GET", "/device-management/jobs/3/4"},
             {"POST", "/device-management/jobs/retry"}}) {
        const auto r = send(&admin, method, path);
        EXPECT_EQ(r.status, 404) << method << " " << path;
        EXPECT_EQ(r.header("Allow"), nullptr) << method << " " << path;
    }
    EXPECT_EQ(ops_.history[0]["state"], "failed");  // nothing was retried
}

// The CA import's multipart form is in certificates_page_test.cpp.
TEST_F(RoutesTest, EveryFormRefusesAPostWithoutTheCsrfToken) {
    Browser b;
    login(b);
    ASSERT_TRUE(store_->add_user("alice", "alice@example.test"));
    for (const auto* path :
         {"/network/email/connection-test", "/network/email/basic/test-email",
          "/network-security/ca-certificate/remove", "/network-security/root-certificate-update",
          "/product-security", "/device-management/jobs/1/retry", "/device-management/users/add",
          "/device-management/users/remove", "/device-management/users/signin",
          "/network/email/basic", "/network/email/basic/signin", "/fax/email-server",
          "/fax/email-server/signin", "/fax/email-server/test-email", "/logout", "/login"}) {
        EXPECT_EQ(
            post(b, path, "profile=user%3Aalice&name=alice&email=a%40x.test&to=a%40x.test").status,
            403)
            << path;
    }
    EXPECT_TRUE(ops_.sent.empty());
    EXPECT_TRUE(signin_.started.empty());
    EXPECT_EQ(store_->users()->size(), 1u);
}

}  // namespace
}  // namespace pb::web
