#include "oauth/provider_error.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace pb::oauth {
namespace {

Verdict expired(std::string message) {
    return {Errc::sign_in_expired, SignInState::expired, std::move(message)};
}
Verdict reauth(std::string message) {
    return {Errc::sign_in_again, SignInState::reauth_required, std::move(message)};
}
Verdict config(std::string message) {
    return {Errc::identity_provider_config, std::nullopt, std::move(message)};
}
Verdict transient(std::string message) {
    return {Errc::identity_provider_unavailable, std::nullopt, std::move(message)};
}

// Microsoft's numbered reasons (providers.md section 1, "AADSTS codes to
// handle"). Looked up before `error`, which is only invalid_grant for most.
std::optional<Verdict> decode_aadsts(long code) {
    switch (code) {
        case 700082:
            return expired(
                "The sign-in expired because it was not used for a long time (Microsoft ends a "
                "sign-in unused for 90 days; AADSTS700082). Sign in again.");
        case 50173:
            return reauth(
                "The sign-in was revoked: the account's password was changed or an administrator "
                "revoked its sessions (AADSTS50173). Sign in again.");
        case 70043:
            return reauth(
                "The sign-in expired under the organization's Conditional Access sign-in frequency "
                "policy (AADSTS70043). Sign in again.");
        case 53003:
        case 530035:
            return reauth(
                "The organization's Entra ID blocked the sign-in with a Conditional Access rule "
                "(or security defaults) (AADSTS" +
                std::to_string(code) +
                "). Check the Conditional Access rules for this account and app, then sign in "
                "again.");
        case 65001:
            return reauth(
                "Consent is missing (AADSTS65001): an administrator must first sign in and consent "
                "on behalf of the organization, then this account can sign in.");
        case 50076:
            return reauth(
                "Multi-factor authentication is required (AADSTS50076): sign in again on a phone "
                "or "
                "computer.");
        case 50079:
            return reauth(
                "The account must enroll in multi-factor authentication (AADSTS50079): enroll, "
                "then "
                "sign in again.");
        case 7000218:
            return config(
                "The app registration does not allow this device's sign-in without a secret "
                "(AADSTS7000218): enable Allow public client flows in the app registration.");
        case 700016:
            return config(
                "The application oauth.client_id was not found in the tenant (AADSTS700016): check "
                "oauth.client_id and oauth.tenant, or have an administrator consent for the "
                "organization.");
        case 90002:
            return config("The tenant was not found (AADSTS90002): check oauth.tenant.");
        case 50194:
            return config(
                "The app is registered for one organization only (AADSTS50194): set oauth.tenant "
                "to "
                "the tenant ID or domain instead of common/organizations.");
        default:
            return std::nullopt;
    }
}

bool contains_lower(std::string_view hay, std::string_view needle) {
    std::string low(hay);
    std::transform(low.begin(), low.end(), low.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
    return low.find(needle) != std::string::npos;
}

}  // namespace

std::optional<ProviderError> parse_error_body(long http_status, std::string_view body) {
    const auto doc = nlohmann::json::parse(body, nullptr, false);
    if (!doc.is_object()) return std::nullopt;
    const auto err = doc.find("error");
    if (err == doc.end() || !err->is_string()) return std::nullopt;
    ProviderError e;
    e.http_status = http_status;
    e.error = err->get<std::string>();
    if (const auto it = doc.find("error_description"); it != doc.end() && it->is_string())
        e.description = it->get<std::string>();
    if (const auto it = doc.find("error_codes"); it != doc.end() && it->is_array())
        for (const auto& c : *it)
            if (c.is_number_integer()) e.error_codes.push_back(c.get<long>());
    return e;
}

Verdict decode_error(Family family, const ProviderError& e, Duration idle) {
    for (const long code : e.error_codes)
        if (auto v = decode_aadsts(code)) return *v;

    const std::string& err = e.error;
    if (err == "invalid_grant") {
        // Google answers "Token has been expired or revoked." both when the
        // token lapsed from disuse and when it was revoked; its description is
        // the only signal it gives, and how long we left the token unused is
        // what separates the two (providers.md section 4).
        if (family == Family::google && contains_lower(e.description, "expired or revoked") &&
            idle >= google_inactivity_limit)
            return expired(
                "The sign-in expired because it was not used for six months (Google: \"expired or "
                "revoked\"). Sign in again.");
        if (family == Family::google && contains_lower(e.description, "expired or revoked"))
            return reauth(
                "Google no longer accepts the sign-in (\"expired or revoked\"): access was "
                "revoked, "
                "the password changed, or the app is in testing mode (7-day tokens). Sign in "
                "again.");
        return reauth(
            "The identity provider no longer accepts the sign-in (invalid_grant): it was revoked, "
            "the password changed, or a refresh token was used twice. Sign in again.");
    }
    if (err == "interaction_required" || err == "login_required" || err == "consent_required" ||
        err == "access_denied")
        return reauth("The identity provider needs a new sign-in (" + err + "). Sign in again.");
    if (err == "invalid_client")
        return config(
            "The identity provider does not accept the client (invalid_client): check "
            "oauth.client_id and oauth.client_secret.");
    if (err == "unauthorized_client")
        return config(
            "The client is not allowed this grant (unauthorized_client): check the app "
            "registration "
            "and oauth.grant.");
    if (err == "invalid_scope")
        return config(
            "The identity provider refuses the scopes (invalid_scope): check oauth.scopes.");
    if (err == "unsupported_grant_type")
        return config("The identity provider does not support this grant: check oauth.grant.");
    if (err == "temporarily_unavailable" || err == "server_error" || e.http_status >= 500)
        return transient("The identity provider is unavailable (" + err + "); retrying later.");

    std::string codes;
    for (const long c : e.error_codes)
        codes += (codes.empty() ? " AADSTS" : ", AADSTS") + std::to_string(c);
    return config("The identity provider refused the request (" + err + codes + ").");
}

Verdict decode_failure(Family family, long http_status, std::string_view body, Duration idle) {
    if (auto e = parse_error_body(http_status, body)) return decode_error(family, *e, idle);
    if (http_status >= 500 || http_status == 429 || http_status == 408)
        return transient("The identity provider answered HTTP " + std::to_string(http_status) +
                         "; retrying later.");
    return config("The identity provider answered HTTP " + std::to_string(http_status) +
                  " without an OAuth error: check the endpoints of oauth.issuer / the service.");
}

}  // namespace pb::oauth
