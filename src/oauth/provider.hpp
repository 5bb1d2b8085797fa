// The provider catalogue: where each mail service's identity provider takes
// device codes, authorization requests, tokens and revocations, which scopes
// a mail-sending profile asks for, and how long an unused sign-in lives there.
// Custom providers are found by OIDC discovery from their issuer.
//
// Every endpoint goes through require_secure_endpoint (HTTPS, or HTTP on
// loopback only) before anything is sent to it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "oauth/http.hpp"

namespace pb::oauth {

enum class Service { exchange_online, outlook_com, gmail, custom };

std::string_view to_string(Service s) noexcept;
std::optional<Service> parse_service(std::string_view name) noexcept;

// Who runs the identity provider: decides how error bodies are read
// (provider_error.hpp) and how long an unused refresh token lives.
enum class Family { microsoft, google, generic };

struct Endpoints {
    std::string issuer;                // empty for the built-in services
    std::string device_authorization;  // empty: no device flow (use PKCE)
    std::string authorization;         // empty: no browser flow
    std::string token;                 // always present
    std::string revocation;            // empty: sign-out only deletes locally
};

struct Provider {
    Service service = Service::custom;
    Family family = Family::generic;
    Endpoints endpoints;
    std::string default_scopes;
    // How long a refresh token may go unused before the provider drops it;
    // zero when the provider does not say. Keep-alive works against this.
    Duration inactivity_limit{0};
};

inline constexpr Duration microsoft_inactivity_limit = std::chrono::days{90};
// Google: "not used for six months".
inline constexpr Duration google_inactivity_limit = std::chrono::days{183};

// "organizations" for Exchange Online, "consumers" for Outlook.com.
std::string_view default_tenant(Service s) noexcept;
std::string_view default_scopes(Service s) noexcept;

// The catalogue entry of a built-in service. `tenant` (Microsoft only; empty =
// the service's default) goes into the endpoint path, so only a tenant name,
// GUID or domain is accepted. `authority` (Microsoft only; empty = the global
// cloud) is the cloud instance's sign-in host, a national cloud's
// (login.microsoftonline.us) for example. Custom services come from discover().
inline constexpr std::string_view kMicrosoftAuthority = "https://login.microsoftonline.com";
Result<Provider> builtin_provider(Service s, std::string_view tenant = {},
                                  std::string_view authority = {});

// Reads an OIDC discovery document (/.well-known/openid-configuration). The
// document's issuer must be the one asked for (OIDC Discovery 4.3), and every
// endpoint must be HTTPS or loopback.
Result<Provider> parse_discovery(std::string_view issuer, std::string_view document);

// Fetches and reads the discovery document of `issuer`.
Result<Provider> discover(HttpClient& http, std::string_view issuer);

// Checks every endpoint the provider lists (643 on the first bad one).
Result<void> validate(const Endpoints& e);

}  // namespace pb::oauth
