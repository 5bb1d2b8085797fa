#include "oauth/provider.hpp"

#include <gtest/gtest.h>

#include "fake_http.hpp"
#include "oauth/url.hpp"

namespace pb::oauth {
namespace {

TEST(Catalogue, ExchangeOnlineUsesOrganizations) {
    auto p = builtin_provider(Service::exchange_online).value();
    EXPECT_EQ(p.endpoints.device_authorization,
              "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode");
    EXPECT_EQ(p.endpoints.token,
              "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
    EXPECT_EQ(p.default_scopes, "https://outlook.office.com/SMTP.Send offline_access openid email");
    EXPECT_TRUE(p.endpoints.revocation.empty());
    EXPECT_EQ(p.family, Family::microsoft);
}

TEST(Catalogue, OutlookComUsesConsumers) {
    auto p = builtin_provider(Service::outlook_com).value();
    EXPECT_EQ(p.endpoints.token, "https://login.microsoftonline.com/consumers/oauth2/v2.0/token");
}

TEST(Catalogue, TenantIdGoesIntoThePath) {
    auto p = builtin_provider(Service::exchange_online, "contoso.onmicrosoft.com").value();
    EXPECT_EQ(p.endpoints.token,
              "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
}

TEST(Catalogue, TenantCannotRewriteThePath) {
    auto p = builtin_provider(Service::exchange_online, "../evil?x=");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, Errc::identity_provider_config);
}

TEST(Catalogue, ANationalCloudsAuthorityReplacesTheGlobalHost) {
    auto us = builtin_provider(Service::exchange_online, "contoso.us",
                               "https://login.microsoftonline.us/")
                  .value();
    EXPECT_EQ(us.endpoints.token, "https://login.microsoftonline.us/contoso.us/oauth2/v2.0/token");
    EXPECT_EQ(us.endpoints.device_authorization,
              "https://login.microsoftonline.us/contoso.us/oauth2/v2.0/devicecode");
}

TEST(Catalogue, Gmail) {
    auto p = builtin_provider(Service::gmail).value();
    EXPECT_TRUE(p.endpoints.device_authorization.empty());
    EXPECT_EQ(p.endpoints.authorization, "https://accounts.google.com/o/oauth2/v2/auth");
    EXPECT_EQ(p.endpoints.token, "https://oauth2.googleapis.com/token");
    EXPECT_EQ(p.endpoints.revocation, "https://oauth2.googleapis.com/revoke");
    EXPECT_EQ(p.default_scopes, "https://mail.google.com/");
}

TEST(Catalogue, CustomNeedsDiscovery) {
    EXPECT_FALSE(builtin_provider(Service::custom).ok());
}

TEST(Catalogue, ServiceNames) {
    for (auto s : {Service::exchange_online, Service::outlook_com, Service::gmail, Service::custom})
        EXPECT_EQ(parse_service(to_string(s)), s);
    EXPECT_FALSE(parse_service("yahoo"));
}

const char* discovery_doc =
    R"({"issuer":"http://127.0.0.1:4000","authorization_endpoint":"http://127.0.0.1:4000/auth",
        "token_endpoint":"http://127.0.0.1:4000/token","device_authorization_endpoint":"http://127.0.0.1:4000/device/auth",
        "revocation_endpoint":"http://127.0.0.1:4000/token/revocation"})";

TEST(Discovery, ReadsTheEndpoints) {
    auto p = parse_discovery("http://127.0.0.1:4000/", discovery_doc);
    ASSERT_TRUE(p.ok()) << p.error().detail;
    EXPECT_EQ(p->endpoints.device_authorization, "http://127.0.0.1:4000/device/auth");
    EXPECT_EQ(p->endpoints.revocation, "http://127.0.0.1:4000/token/revocation");
    EXPECT_EQ(p->service, Service::custom);
}

TEST(Discovery, OtherIssuerIsRefused) {
    auto p = parse_discovery("http://127.0.0.1:5000", discovery_doc);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, Errc::identity_provider_config);
}

TEST(Discovery, PlainHttpOffLoopbackIsRefused) {
    auto p = parse_discovery(
        "https://idp.example",
        R"({"issuer":"https://idp.example","token_endpoint":"http://idp.example/token"})");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, Errc::identity_provider_config);
    EXPECT_NE(p.error().detail.find("HTTPS"), std::string::npos);
}

TEST(Discovery, MissingTokenEndpoint) {
    EXPECT_FALSE(
        parse_discovery("https://idp.example", R"({"issuer":"https://idp.example"})").ok());
}

TEST(Discovery, InvalidJson) {
    EXPECT_FALSE(parse_discovery("https://idp.example", "<html>").ok());
}

TEST(Discovery, FetchesTheWellKnownDocument) {
    test::FakeHttp http(
        [](const test::Seen&) -> Result<HttpResponse> { return test::json(200, discovery_doc); });
    auto p = discover(http, "http://127.0.0.1:4000");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(http.seen().at(0).url, "http://127.0.0.1:4000/.well-known/openid-configuration");
}

TEST(Discovery, IssuerMustBeSecure) {
    test::FakeHttp http;
    auto p = discover(http, "http://idp.example");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, Errc::identity_provider_config);
    EXPECT_EQ(http.count(), 0);
}

TEST(Url, LoopbackHosts) {
    for (const char* h : {"127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1"})
        EXPECT_TRUE(is_loopback_host(h)) << h;
    for (const char* h : {"128.0.0.1", "127.0.0.1.evil.example", "127.1", "0x7f.0.0.1",
                          "localhost.evil", "::2", ""})
        EXPECT_FALSE(is_loopback_host(h)) << h;
}

TEST(Url, SecureEndpoint) {
    EXPECT_TRUE(require_secure_endpoint("https://login.microsoftonline.com/x", "t").ok());
    EXPECT_TRUE(require_secure_endpoint("http://127.0.0.1:8080/token", "t").ok());
    EXPECT_TRUE(require_secure_endpoint("http://[::1]:8080/token", "t").ok());
    EXPECT_TRUE(require_secure_endpoint("http://localhost/token", "t").ok());
    EXPECT_FALSE(require_secure_endpoint("http://idp.example/token", "t").ok());
    EXPECT_FALSE(require_secure_endpoint("http://127.0.0.1@idp.example/token", "t").ok());
    EXPECT_FALSE(require_secure_endpoint("ftp://127.0.0.1/token", "t").ok());
    EXPECT_FALSE(require_secure_endpoint("https:///token", "t").ok());
    EXPECT_EQ(require_secure_endpoint("http://10.0.0.1/token", "token endpoint").error().code,
              Errc::identity_provider_config);
}

TEST(Url, Parse) {
    auto u = parse_url("HTTPS://Login.Example:8443/a/b?x=1&y=2#frag").value();
    EXPECT_EQ(u.scheme, "https");
    EXPECT_EQ(u.host, "login.example");
    EXPECT_EQ(u.port, "8443");
    EXPECT_EQ(u.path, "/a/b");
    EXPECT_EQ(u.query, "x=1&y=2");
    EXPECT_FALSE(parse_url("https://host:0/"));
    EXPECT_FALSE(parse_url("https://host:99999/"));
    EXPECT_FALSE(parse_url("https://ho st/"));
}

TEST(Url, FormRoundTrip) {
    const std::string raw = "a b+c&d=e/f~ü";
    EXPECT_EQ(form_decode(form_encode(raw)), raw);
    EXPECT_EQ(form_encode("a b"), "a%20b");
    EXPECT_FALSE(form_decode("%4"));
    EXPECT_FALSE(form_decode("%zz"));
}

}  // namespace
}  // namespace pb::oauth
