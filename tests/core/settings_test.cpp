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
    // Row "relay.allowed_networks 0.0.0.0/0": an open relay by one setting.
    for (const char* wide : {"0.0.0.0/0", "10.0.0.0/7", "::/0", "2001:db8::/15"}) {
        auto r = set("relay.allowed_networks", std::string("192.168.1.0/24,") + wide);
        ASSERT_FALSE(r) << wide;
        EXPECT_NE(r.error().detail.find("too wide"), std::string::npos) << r.error().detail;
    }
    EXPECT_TRUE(set("relay.allowed_networks", "2001:db8::/16"));
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
        const Key k{d.scope() == Scope::profile ? "email" : "", &d};
        auto n = normalize(k, d.default_value);
        EXPECT_TRUE(n) << d.name << ": " << (n ? "" : n.error().detail);
    }
}

// Every key but a secret fills a member, and a choice fills its enum in the
// order of its names: each name read back through to_string().
TEST(SettingsConfig, EveryChoiceRoundTripsThroughItsMember) {
    for (const auto& d : schema()) {
        EXPECT_EQ(d.target.fill == nullptr, d.type == Type::secret) << d.name;
        if (d.type != Type::choice) continue;
        for (const auto c : d.choices) {
            Settings s;
            s.values()[d.scope() == Scope::profile ? "email." + std::string(d.name)
                                                   : std::string(d.name)] = std::string(c);
            const ProfileConfig p = s.profile_config("email");
            const GlobalConfig g = s.global_config();
            std::string_view back;
            if (d.name == "auth_method") back = to_string(p.auth_method);
            if (d.name == "service") back = to_string(p.service);
            if (d.name == "smtp.security") back = to_string(p.smtp_security);
            if (d.name == "pop3.security") back = to_string(p.pop3_security);
            if (d.name == "oauth.grant") back = to_string(p.oauth_grant);
            if (d.name == "transport") back = to_string(p.transport);
            if (d.name == "sender_policy") back = to_string(p.sender_policy);
            if (d.name == "relay.sender_policy") back = to_string(g.relay_sender_policy);
            if (d.name == "relay.bare_lf") back = to_string(g.relay_bare_lf);
            if (d.name == "relay.tls_min_version") back = g.relay_tls_min_version;
            EXPECT_EQ(back, c) << d.name << " has a choice its member does not hold";
        }
    }
}

TEST(SettingsConfig, DefaultsPresetsAndInheritanceAreTyped) {
    Settings s;
    s.values()["email.smtp.host"] = "smtp.example.com";
    s.values()["email.sender"] = "scanner@example.com";
    s.values()["email.smtp.verify_cert"] = "false";
    s.values()["user:alice.sender"] = "alice@example.com";
    s.values()["relay.max_message_size"] = "10M";
    s.values()["history.max_age"] = "2d";
    const Config c(s);
    const auto& email = c.profile("email");
    EXPECT_EQ(email.auth_method, AuthMethod::off);
    EXPECT_EQ(email.service, Service::exchange_online);
    EXPECT_EQ(email.smtp_host, "smtp.example.com");
    EXPECT_EQ(email.smtp_port, 587);
    EXPECT_EQ(email.smtp_security, Security::starttls);
    EXPECT_FALSE(email.smtp_verify_cert);
    EXPECT_EQ(email.delivery_rate_limit, 30);  // the Exchange Online preset
    EXPECT_EQ(email.delivery_concurrency, 3);
    EXPECT_EQ(email.delivery_max_age, std::chrono::days{5});
    EXPECT_EQ(email.oauth_refresh_margin, std::chrono::minutes{5});
    EXPECT_TRUE(email.hold_when_signed_out);
    EXPECT_EQ(email.sender_policy, SenderPolicy::rewrite);

    const auto& alice = c.profile("user:alice");
    EXPECT_EQ(alice.sender, "alice@example.com");
    EXPECT_EQ(alice.smtp_host, "smtp.example.com");  // inherited
    EXPECT_FALSE(alice.smtp_verify_cert);
    const auto& bob = c.profile("user:bob");  // nothing of his own set
    EXPECT_EQ(bob.sender, "");                // never the device's sender
    EXPECT_EQ(bob.smtp_host, "smtp.example.com");
    EXPECT_EQ(c.profile("fax").smtp_host, "smtp.office365.com");

    EXPECT_EQ(c.global().relay_max_message_size, 10U << 20);
    EXPECT_EQ(c.global().history_max_age, std::chrono::days{2});
    EXPECT_EQ(c.global().history_max_jobs, 1000);
    EXPECT_EQ(c.global().web_listen, "127.0.0.1:8443");
    EXPECT_EQ(c.global().relay_profile, "email");
    EXPECT_TRUE(c.global().relay_dsn);
}

// A stored value that no longer parses (written by hand into the database)
// reads as the key's default, not as zero or false.
TEST(SettingsConfig, AnUnparsableStoredValueReadsAsTheDefault) {
    Settings s;
    s.values()["email.smtp.port"] = "five";
    s.values()["email.hold_when_signed_out"] = "maybe";
    s.values()["email.auth_method"] = "kerberos";
    const auto p = s.profile_config("email");
    EXPECT_EQ(p.smtp_port, 587);
    EXPECT_TRUE(p.hold_when_signed_out);
    EXPECT_EQ(p.auth_method, AuthMethod::off);
}

TEST(SettingsConfig, Pop3sPortFollowsTheSecurityUnlessSet) {
    Settings s;
    s.values()["email.pop3.security"] = "ssl-tls";
    EXPECT_EQ(s.profile_config("email").pop3_port, 995);
    s.values()["email.pop3.port"] = "110";
    EXPECT_EQ(s.profile_config("email").pop3_port, 110);
}

}  // namespace
}  // namespace pb::settings
