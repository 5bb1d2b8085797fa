#include "oauth/provider.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

#include "oauth/url.hpp"

namespace pb::oauth {
namespace {

constexpr std::string_view microsoft_scopes =
    "https://outlook.office.com/SMTP.Send offline_access openid email";
constexpr std::string_view google_scopes = "https://mail.google.com/";
// A custom issuer names the account through OIDC; the administrator adds the
// mail server's own scope (design.md: presets fill oauth.scopes).
constexpr std::string_view custom_scopes = "openid email offline_access";

struct Entry {
    Service service;
    std::string_view name;
};
constexpr std::array<Entry, 4> names{{
    {Service::exchange_online, "exchange-online"},
    {Service::outlook_com, "outlook-com"},
    {Service::gmail, "gmail"},
    {Service::custom, "custom"},
}};

bool valid_tenant(std::string_view t) {
    return !t.empty() && t.size() <= 255 && std::all_of(t.begin(), t.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.';
    });
}

std::string trim_slash(std::string_view s) {
    while (!s.empty() && s.back() == '/') s.remove_suffix(1);
    return std::string(s);
}

}  // namespace

std::string_view to_string(Service s) noexcept {
    for (const auto& e : names)
        if (e.service == s) return e.name;
    return "custom";
}

std::optional<Service> parse_service(std::string_view name) noexcept {
    for (const auto& e : names)
        if (e.name == name) return e.service;
    return std::nullopt;
}

std::string_view default_tenant(Service s) noexcept {
    switch (s) {
        case Service::exchange_online:
            return "organizations";
        case Service::outlook_com:
            return "consumers";
        case Service::gmail:
        case Service::custom:
            return {};
    }
    return {};
}

std::string_view default_scopes(Service s) noexcept {
    switch (s) {
        case Service::exchange_online:
        case Service::outlook_com:
            return microsoft_scopes;
        case Service::gmail:
            return google_scopes;
        case Service::custom:
            return custom_scopes;
    }
    return custom_scopes;
}

Result<Provider> builtin_provider(Service s, std::string_view tenant, std::string_view authority) {
    Provider p;
    p.service = s;
    p.default_scopes = std::string(default_scopes(s));
    switch (s) {
        case Service::exchange_online:
        case Service::outlook_com: {
            const std::string_view t = tenant.empty() ? default_tenant(s) : tenant;
            if (!valid_tenant(t))
                return fail(
                    Errc::identity_provider_config,
                    "oauth.tenant must be organizations, consumers, common, a tenant ID or a "
                    "domain name");
            std::string_view host = authority.empty() ? kMicrosoftAuthority : authority;
            while (host.ends_with('/')) host.remove_suffix(1);
            const std::string base = std::string(host) + "/" + std::string(t) + "/oauth2/v2.0";
            p.family = Family::microsoft;
            // Microsoft has no RFC 7009 endpoint: sign-out deletes the tokens
            // here; revoking every session is an administrator's Graph call.
            p.endpoints = {.issuer = {},
                           .device_authorization = base + "/devicecode",
                           .authorization = base + "/authorize",
                           .token = base + "/token",
                           .revocation = {}};
            p.inactivity_limit = microsoft_inactivity_limit;
            return p;
        }
        case Service::gmail:
            p.family = Family::google;
            // Google's device flow refuses every Gmail scope (providers.md
            // section 4), so Gmail signs in with the authorization code grant.
            p.endpoints = {.issuer = {},
                           .device_authorization = {},
                           .authorization = "https://accounts.google.com/o/oauth2/v2/auth",
                           .token = "https://oauth2.googleapis.com/token",
                           .revocation = "https://oauth2.googleapis.com/revoke"};
            p.inactivity_limit = google_inactivity_limit;
            return p;
        case Service::custom:
            break;
    }
    return fail(Errc::identity_provider_config,
                "a custom service is found by discovery: set oauth.issuer");
}

Result<Provider> parse_discovery(std::string_view issuer, std::string_view document) {
    const auto doc = nlohmann::json::parse(document, nullptr, false);
    if (!doc.is_object())
        return fail(
            Errc::identity_provider_config,
            "the OIDC discovery document of " + std::string(issuer) + " is not a JSON object");
    auto field = [&](const char* name) -> std::string {
        const auto it = doc.find(name);
        return (it != doc.end() && it->is_string()) ? it->get<std::string>() : std::string{};
    };
    // A document naming another issuer is either a misconfiguration or an
    // attempt to send our tokens elsewhere: refuse both.
    if (trim_slash(field("issuer")) != trim_slash(issuer))
        return fail(Errc::identity_provider_config,
                    "the discovery document of " + std::string(issuer) + " names another issuer (" +
                        field("issuer") + ")");
    Provider p;
    p.service = Service::custom;
    p.family = Family::generic;
    p.default_scopes = std::string(custom_scopes);
    p.endpoints = {.issuer = field("issuer"),
                   .device_authorization = field("device_authorization_endpoint"),
                   .authorization = field("authorization_endpoint"),
                   .token = field("token_endpoint"),
                   .revocation = field("revocation_endpoint")};
    if (p.endpoints.token.empty())
        return fail(Errc::identity_provider_config,
                    "the discovery document of " + std::string(issuer) + " has no token_endpoint");
    if (auto ok = validate(p.endpoints); !ok) return std::move(ok).error();
    return p;
}

Result<Provider> discover(HttpClient& http, std::string_view issuer) {
    if (auto ok = require_secure_endpoint(issuer, "oauth.issuer"); !ok)
        return std::move(ok).error();
    auto response = send_to_identity_provider(
        http, get(trim_slash(issuer) + "/.well-known/openid-configuration"));
    if (!response) return std::move(response).error();
    if (response->status >= 500)
        return fail(Errc::identity_provider_unavailable,
                    "OIDC discovery at " + std::string(issuer) + " answered HTTP " +
                        std::to_string(response->status));
    if (response->status != 200)
        return fail(Errc::identity_provider_config,
                    "OIDC discovery at " + std::string(issuer) + " answered HTTP " +
                        std::to_string(response->status) + ": is oauth.issuer right?");
    return parse_discovery(issuer, response->body.reveal());
}

Result<void> validate(const Endpoints& e) {
    const std::pair<const std::string*, std::string_view> all[] = {
        {&e.issuer, "oauth.issuer"},
        {&e.device_authorization, "device authorization endpoint"},
        {&e.authorization, "authorization endpoint"},
        {&e.token, "token endpoint"},
        {&e.revocation, "revocation endpoint"},
    };
    for (const auto& [url, what] : all) {
        if (url->empty()) continue;
        if (auto ok = require_secure_endpoint(*url, what); !ok) return std::move(ok).error();
    }
    return {};
}

}  // namespace pb::oauth
