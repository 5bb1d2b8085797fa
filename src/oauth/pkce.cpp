#include "oauth/pkce.hpp"

#include <openssl/evp.h>

#include <array>

#include "core/encoding.hpp"
#include "oauth/provider_error.hpp"
#include "oauth/url.hpp"

namespace pb::oauth {

std::string s256_challenge(std::string_view verifier) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int len = 0;
    // One-shot digest of a short string: EVP_Digest only fails on allocation.
    if (EVP_Digest(verifier.data(), verifier.size(), digest.data(), &len, EVP_sha256(), nullptr) !=
        1)
        std::abort();
    return base64url_encode(std::as_bytes(std::span(digest.data(), len)));
}

Result<AuthorizationRequest> begin_authorization(const Client& c, Random& rng) {
    const std::string& endpoint = c.provider.endpoints.authorization;
    if (endpoint.empty())
        return fail(Errc::identity_provider_config,
                    "the provider has no authorization endpoint: use the device grant");
    if (auto ok = require_secure_endpoint(endpoint, "authorization endpoint"); !ok)
        return std::move(ok).error();
    if (auto ok = parse_url(c.redirect_uri); !ok || !is_loopback_host(ok->host))
        return fail(
            Errc::identity_provider_config,
            "the redirect URI must be a loopback URL (http://127.0.0.1/...): " + c.redirect_uri);

    AuthorizationRequest r;
    r.verifier = Secret(random_base64url(rng, 32));
    r.state = random_base64url(rng, 32);
    std::string url = endpoint;
    url += endpoint.find('?') == std::string::npos ? '?' : '&';
    Form query;
    query.add("response_type", "code")
        .add("client_id", c.client_id)
        .add("redirect_uri", c.redirect_uri)
        .add("scope", c.sign_in_scopes())
        .add("state", r.state)
        .add("code_challenge", s256_challenge(r.verifier.reveal()))
        .add("code_challenge_method", "S256");
    // Google issues a refresh token only with access_type=offline, and only
    // at a consent screen; other providers ignore both parameters.
    if (c.provider.family == Family::google)
        query.add("access_type", "offline").add("prompt", "consent");
    url += query.body().reveal();
    r.url = std::move(url);
    return r;
}

Result<Secret> read_redirect(const Client& c, std::string_view pasted,
                             std::string_view expected_state) {
    while (!pasted.empty() &&
           (pasted.back() == '\n' || pasted.back() == '\r' || pasted.back() == ' '))
        pasted.remove_suffix(1);
    while (!pasted.empty() && pasted.front() == ' ') pasted.remove_prefix(1);

    std::string_view query = pasted;
    if (pasted.find("://") != std::string_view::npos) {
        const auto url = parse_url(pasted);
        const auto ours = parse_url(c.redirect_uri);
        // Loopback ports may differ (RFC 8252 7.3): host and path must not.
        if (!url || !ours || url->host != ours->host || url->path != ours->path)
            return fail(Errc::invalid_input,
                        "that is not the sign-in's redirect URL (" + c.redirect_uri + ")");
        query = pasted.substr(pasted.find('?') == std::string_view::npos ? pasted.size()
                                                                         : pasted.find('?') + 1);
        if (const auto hash = query.find('#'); hash != std::string_view::npos)
            query = query.substr(0, hash);
    } else if (!query.empty() && query.front() == '?') {
        query.remove_prefix(1);
    }
    const auto params = parse_form(query);
    if (!params) return fail(Errc::invalid_input, "the redirect URL is malformed");

    const auto state = param(*params, "state");
    if (!state || !Secret::equal_constant_time(*state, expected_state))
        return fail(
            Errc::invalid_input,
            "the redirect URL belongs to another sign-in (state does not match): start again");
    if (const auto error = param(*params, "error")) {
        if (*error == "access_denied")
            return fail(Errc::not_signed_in, "the sign-in was declined in the browser");
        ProviderError e;
        e.error = *error;
        return to_error(decode_error(c.provider.family, e));
    }
    auto code = param(*params, "code");
    if (!code || code->empty()) return fail(Errc::invalid_input, "the redirect URL has no code");
    return Secret(std::move(*code));
}

}  // namespace pb::oauth
