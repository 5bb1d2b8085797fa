#include "oauth/token.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

#include "core/encoding.hpp"

namespace pb::oauth {

std::string_view to_string(SignInState s) noexcept {
    switch (s) {
        case SignInState::signed_out:
            return "signed-out";
        case SignInState::pending:
            return "pending";
        case SignInState::signed_in:
            return "signed-in";
        case SignInState::expired:
            return "expired";
        case SignInState::reauth_required:
            return "reauth-required";
    }
    return "signed-out";
}

std::optional<Errc> job_code(SignInState s) noexcept {
    switch (s) {
        case SignInState::signed_out:
        case SignInState::pending:
            return Errc::not_signed_in;
        case SignInState::signed_in:
            return std::nullopt;
        case SignInState::expired:
            return Errc::sign_in_expired;
        case SignInState::reauth_required:
            return Errc::sign_in_again;
    }
    return Errc::not_signed_in;
}

Result<TokenResponse> parse_token_response(std::string_view body, TimePoint now) {
    const auto doc = nlohmann::json::parse(body, nullptr, false);
    if (!doc.is_object())
        return fail(Errc::identity_provider_unavailable,
                    "the token endpoint answered with something that is not JSON");
    auto text = [&](const char* name) -> std::string {
        const auto it = doc.find(name);
        return (it != doc.end() && it->is_string()) ? it->get<std::string>() : std::string{};
    };
    TokenResponse r;
    r.access_token = Secret(text("access_token"));
    if (r.access_token.empty())
        return fail(Errc::identity_provider_unavailable, "the token response has no access_token");
    // token_type is case-insensitive (RFC 6749 5.1); a non-bearer token is
    // useless for XOAUTH2, so it is refused rather than sent.
    if (const auto type = text("token_type"); !type.empty()) {
        std::string lower;
        for (const char c : type) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        if (lower != "bearer")
            return fail(Errc::identity_provider_config,
                        "the token endpoint issued a \"" + type + "\" token, not a Bearer token");
    }
    Duration lifetime = default_token_lifetime;
    if (const auto it = doc.find("expires_in"); it != doc.end()) {
        // Azure AD's v1.0 endpoint sent expires_in as a string: both are read.
        long long secs = -1;
        if (it->is_number_integer()) {
            secs = it->get<long long>();
        } else if (it->is_string()) {
            const auto& s = it->get_ref<const std::string&>();
            auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
            if (ec != std::errc{} || end != s.data() + s.size()) secs = -1;
        }
        if (secs < 0 || secs > 10LL * 365 * 24 * 3600)
            return fail(Errc::identity_provider_unavailable,
                        "the token response has a bad expires_in");
        lifetime = std::chrono::seconds{secs};
    }
    r.expires_at = now + lifetime;
    r.refresh_token = Secret(text("refresh_token"));
    r.scope = text("scope");
    if (const auto id = text("id_token"); !id.empty()) {
        r.identities = identities_from_id_token(id);
        if (!r.identities.empty()) r.account = r.identities.front();
    }
    return r;
}

std::vector<std::string> identities_from_id_token(std::string_view id_token) {
    const auto first = id_token.find('.');
    if (first == std::string_view::npos) return {};
    const auto second = id_token.find('.', first + 1);
    if (second == std::string_view::npos) return {};
    const auto payload = base64url_decode(id_token.substr(first + 1, second - first - 1));
    if (!payload) return {};
    const auto claims = nlohmann::json::parse(*payload, nullptr, false);
    if (!claims.is_object()) return {};
    std::vector<std::string> names;
    for (const char* name : {"email", "preferred_username", "upn"}) {
        const auto it = claims.find(name);
        if (it != claims.end() && it->is_string() && !it->get<std::string>().empty())
            names.push_back(it->get<std::string>());
    }
    return names;
}

std::string account_from_id_token(std::string_view id_token) {
    auto names = identities_from_id_token(id_token);
    return names.empty() ? std::string() : std::move(names.front());
}

TokenSet merge(TokenSet previous, TokenResponse response, TimePoint now) {
    TokenSet t = std::move(previous);
    t.state = SignInState::signed_in;
    t.state_reason.clear();
    t.access_token = std::move(response.access_token);
    t.access_expires_at = response.expires_at;
    if (!response.refresh_token.empty()) t.refresh_token = std::move(response.refresh_token);
    if (!response.scope.empty()) t.scope = std::move(response.scope);
    if (!response.account.empty()) t.account = std::move(response.account);
    if (t.signed_in_at == TimePoint{}) t.signed_in_at = now;
    t.last_refresh = now;
    t.keepalive_failed_at.reset();
    return t;
}

}  // namespace pb::oauth
