#include "core/settings.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace pb::settings {
namespace {

Result<std::string> set(std::string_view full, std::string_view value) {
    auto key = parse_key(full);
    if (!key) return std::move(key).error();
    return normalize(*key, value);
}

TEST(SettingsKeys, ProfileAndGlobalKeysParse) {
    auto k = parse_key("email.smtp.port");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->profile, "email");
    EXPECT_EQ(k->def->name, "smtp.port");
    EXPECT_EQ(k->full(), "email.smtp.port");

    auto u = parse_key("user:first.last.sender");  // a user name may hold dots
    ASSERT_TRUE(u);
    EXPECT_EQ(u->profile, "user:first.last");
    EXPECT_EQ(u->def->name, "sender");

    auto g = parse_key("web.listen");
    ASSERT_TRUE(g);
    EXPECT_TRUE(g->profile.empty());
    EXPECT_TRUE(parse_key("proxy.url"));
    EXPECT_TRUE(parse_key("fax.proxy.url"));
}

TEST(SettingsKeys, UnknownKeysNameTheKey) {
    auto e = parse_key("email.smtp.prot");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, Errc::invalid_input);
    EXPECT_NE(e.error().detail.find("email.smtp.prot"), std::string::npos);
    EXPECT_NE(e.error().detail.find("config show"), std::string::npos);

    auto bare = parse_key("smtp.port");
    ASSERT_FALSE(bare);
    EXPECT_NE(bare.error().detail.find("email.smtp.port"), std::string::npos);

    EXPECT_FALSE(parse_key("user:Bad.sender"));
    EXPECT_FALSE(parse_key("printer.smtp.port"));
}

TEST(SettingsValues, PortBounds) {
    EXPECT_EQ(*set("email.smtp.port", "465"), "465");
    auto e = set("email.smtp.port", "70000");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().detail,
              "email.smtp.port: '70000' is not a port: use a number from 1 to 65535");
    EXPECT_FALSE(set("email.smtp.port", "0"));
    EXPECT_FALSE(set("email.smtp.port", "587x"));
    EXPECT_FALSE(set("email.smtp.port", ""));
}

TEST(SettingsValues, ChoicesAreCaseInsensitiveAndListed) {
    EXPECT_EQ(*set("email.smtp.security", "STARTTLS"), "starttls");
    auto e = set("email.service", "yahoo");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().detail.find("exchange-online, outlook-com, gmail or custom"),
              std::string::npos);
    EXPECT_EQ(*set("email.auth_method", "OAuth2"), "oauth2");
}

TEST(SettingsValues, BooleansDurationsSizes) {
    EXPECT_EQ(*set("email.smtp.verify_cert", "No"), "false");
    EXPECT_FALSE(set("email.smtp.verify_cert", "maybe"));
    EXPECT_EQ(*set("email.oauth.keepalive_interval", "0"), "0");
    EXPECT_EQ(*set("email.oauth.keepalive_interval", "14D"), "14d");
    EXPECT_FALSE(set("email.oauth.keepalive_interval", "7 days"));
    EXPECT_FALSE(set("email.oauth.keepalive_interval", "400d"));  // out of bounds
    EXPECT_EQ(*set("relay.max_message_size", "25m"), "25M");
    EXPECT_FALSE(set("relay.max_message_size", "25X"));
    EXPECT_EQ(parse_duration("5m"), std::chrono::seconds{300});
    EXPECT_EQ(parse_size("2K"), 2048U);
}

TEST(SettingsValues, AddressesHostsUrls) {
    EXPECT_TRUE(set("email.sender", "scanner@example.com"));
    EXPECT_FALSE(set("email.sender", "scanner"));
    EXPECT_FALSE(set("email.sender", "a b@example.com"));
    EXPECT_FALSE(set("email.sender", "x@"));
    EXPECT_EQ(*set("email.smtp.host", "SMTP.Office365.com"), "smtp.office365.com");
    EXPECT_FALSE(set("email.smtp.host", "smtp office365"));
    EXPECT_TRUE(set("email.oauth.issuer", "https://login.example.com/tenant/v2.0"));
    EXPECT_TRUE(set("email.oauth.issuer", "http://127.0.0.1:4000"));
    auto plain = set("email.oauth.issuer", "http://login.example.com");
    ASSERT_FALSE(plain);
    EXPECT_NE(plain.error().detail.find("https://"), std::string::npos);
    EXPECT_TRUE(set("proxy.url", "http://proxy.example.com:3128"));  // a proxy may be plain
    EXPECT_TRUE(set("relay.allowed_networks", "192.168.1.0/24, 10.0.0.0/8,::1/128"));
    EXPECT_FALSE(set("relay.allowed_networks", "192.168.1.0/33"));
    EXPECT_FALSE(set("relay.allowed_networks", "300.1.1.1"));
    EXPECT_TRUE(set("web.listen", "[::1]:8443"));
    EXPECT_FALSE(set("web.listen", "8443"));
}

TEST(SettingsValues, LineBreaksRefusedEverywhere) {
    EXPECT_FALSE(set("email.account", "a\r\nRCPT TO:<x@y>"));
    EXPECT_FALSE(set("email.password", "pw\n"));
}

TEST(SettingsPresets, ServiceFillsServerFields) {
    Settings s;
    EXPECT_EQ(s.get("email", "service"), "exchange-online");
    EXPECT_EQ(s.get("email", "smtp.host"), "smtp.office365.com");
    EXPECT_EQ(s.get("email", "smtp.port"), "587");
    EXPECT_EQ(s.get("email", "oauth.tenant"), "organizations");
    EXPECT_EQ(s.get("email", "delivery.rate_limit"), "30");
    EXPECT_NE(s.get("email", "oauth.scopes").find("https://outlook.office.com/SMTP.Send"),
              std::string::npos);
    EXPECT_NE(s.get("email", "oauth.scopes").find("offline_access"), std::string::npos);

    s.values()["email.service"] = "outlook-com";
    EXPECT_EQ(s.get("email", "smtp.host"), "smtp-mail.outlook.com");
    EXPECT_EQ(s.get("email", "oauth.tenant"), "consumers");
    s.values()["email.service"] = "gmail";
    EXPECT_EQ(s.get("email", "smtp.host"), "smtp.gmail.com");
    EXPECT_EQ(s.get("email", "oauth.scopes"), "https://mail.google.com/");
    EXPECT_EQ(s.get("email", "oauth.grant"), "authorization-code");
    EXPECT_EQ(s.get("email", "delivery.rate_limit"), "0");
    s.values()["email.smtp.host"] = "smtp.example.com";  // a set value wins over the preset
    EXPECT_EQ(s.get("email", "smtp.host"), "smtp.example.com");
    ASSERT_NE(find_preset("custom"), nullptr);
    EXPECT_EQ(find_preset("yahoo"), nullptr);
}

TEST(SettingsInheritance, UserProfilesInheritServerKeysButNotIdentity) {
    Settings s;
    s.values()["email.smtp.host"] = "smtp.example.com";
    s.values()["email.sender"] = "scanner@example.com";
    s.values()["user:alice.sender"] = "alice@example.com";
    EXPECT_EQ(s.get("user:alice", "smtp.host"), "smtp.example.com");
    EXPECT_EQ(s.origin("user:alice", "smtp.host"), "inherited");
    EXPECT_EQ(s.get("user:alice", "sender"), "alice@example.com");
    EXPECT_EQ(s.get("user:bob", "sender"), "");  // never the device's sender
    s.values()["user:alice.smtp.port"] = "465";
    EXPECT_EQ(s.get("user:alice", "smtp.port"), "465");
    EXPECT_EQ(s.origin("user:alice", "smtp.port"), "set");
    // fax is its own set of settings, not inherited
    EXPECT_EQ(s.get("fax", "smtp.host"), "smtp.office365.com");
}

TEST(SettingsInheritance, ProfileProxyDefaultsToGlobal) {
    Settings s;
    s.values()["proxy.url"] = "http://127.0.0.1:3128";
    EXPECT_EQ(s.get("email", "proxy.url"), "http://127.0.0.1:3128");
    s.values()["fax.proxy.url"] = "http://127.0.0.1:8888";
    EXPECT_EQ(s.get("fax", "proxy.url"), "http://127.0.0.1:8888");
}

TEST(SettingsWarnings, ConsistencyBetweenKeys) {
    Settings s;
    s.values()["email.auth_method"] = "oauth2";
    s.values()["email.service"] = "custom";
    auto w = s.warnings("email");
    auto has = [&](std::string_view text) {
        return std::ranges::any_of(
            w, [&](const std::string& x) { return x.find(text) != std::string::npos; });
    };
    EXPECT_TRUE(has("oauth.issuer"));
    EXPECT_TRUE(has("oauth.client_id"));
    EXPECT_TRUE(has("email.sender"));
    EXPECT_TRUE(has("email.smtp.host"));  // custom has no server preset
    s.values()["email.smtp.verify_cert"] = "false";
    w = s.warnings("email");
    EXPECT_TRUE(
        has("It is recommended to enable the Certificate Validation. It will be connected "
            "without confirming the safety of the email server when the Certificate "
            "Validation is disabled."));
}

TEST(SettingsSchema, EveryKeyIsDocumentedAndDefaultsValidate) {
    for (const auto& d : schema()) {
        EXPECT_FALSE(d.doc.empty()) << d.name;
        if (d.default_value.empty()) continue;
        const Key k{d.scope == Scope::profile ? "email" : "", &d};
        auto n = normalize(k, d.default_value);
        EXPECT_TRUE(n) << d.name << ": " << (n ? "" : n.error().detail);
    }
}

}  // namespace
}  // namespace pb::settings
