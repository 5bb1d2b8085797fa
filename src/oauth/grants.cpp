#include "oauth/grants.hpp"

#include <array>
#include <utility>

#include "oauth/provider_error.hpp"

namespace pb::oauth {
namespace {

constexpr std::array<std::pair<Grant, std::string_view>, 3> grant_names{{
    {Grant::device, "device"},
    {Grant::authorization_code, "authorization-code"},
    {Grant::client_credentials, "client-credentials"},
}};

// Adds the client's authentication to a request whose form is `form`.
HttpRequest authenticated(const Client& c, const std::string& url, Form& form) {
    if (c.client_secret.empty()) form.add("client_id", c.client_id);
    HttpRequest r = post_form(url, form);
    if (!c.client_secret.empty())
        r.authorization = basic_authorization(c.client_id, c.client_secret);
    return r;
}

}  // namespace

std::string_view to_string(Grant g) noexcept {
    for (const auto& [grant, name] : grant_names)
        if (grant == g) return name;
    return "device";
}

std::optional<Grant> parse_grant(std::string_view name) noexcept {
    for (const auto& [grant, n] : grant_names)
        if (n == name) return grant;
    return std::nullopt;
}

std::string Client::sign_in_scopes() const {
    std::string s(scopes());
    const std::string padded = " " + s + " ";
    std::string_view rest = consent_scope;
    while (!rest.empty()) {
        const auto sp = rest.find(' ');
        const std::string_view word = rest.substr(0, sp);
        rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
        if (word.empty() || padded.find(" " + std::string(word) + " ") != std::string::npos)
            continue;
        if (!s.empty()) s += ' ';
        s += word;
    }
    return s;
}

HttpRequest device_authorization_request(const Client& c) {
    Form form;
    form.add("scope", c.sign_in_scopes());
    return authenticated(c, c.provider.endpoints.device_authorization, form);
}

HttpRequest device_token_request(const Client& c, const Secret& device_code) {
    Form form;
    form.add("grant_type", "urn:ietf:params:oauth:grant-type:device_code")
        .add("device_code", device_code);
    return authenticated(c, c.provider.endpoints.token, form);
}

HttpRequest refresh_request(const Client& c, const Secret& refresh_token) {
    Form form;
    // The scope is sent again because Microsoft returns a token for the first
    // resource of the scope list only; asking for ours keeps it SMTP.Send.
    form.add("grant_type", "refresh_token")
        .add("refresh_token", refresh_token)
        .add("scope", c.scopes())
        .add_if("resource", c.resource);
    return authenticated(c, c.provider.endpoints.token, form);
}

HttpRequest code_exchange_request(const Client& c, const Secret& code, const Secret& verifier) {
    Form form;
    form.add("grant_type", "authorization_code")
        .add("code", code)
        .add("redirect_uri", c.redirect_uri)
        .add("code_verifier", verifier);
    return authenticated(c, c.provider.endpoints.token, form);
}

HttpRequest client_credentials_request(const Client& c) {
    Form form;
    form.add("grant_type", "client_credentials")
        .add_if("scope", c.scopes())
        .add_if("resource", c.resource);
    return authenticated(c, c.provider.endpoints.token, form);
}

HttpRequest revocation_request(const Client& c, const Secret& token, std::string_view type_hint) {
    Form form;
    form.add("token", token).add_if("token_type_hint", type_hint);
    return authenticated(c, c.provider.endpoints.revocation, form);
}

Result<TokenResponse> read_token_answer(const Client& c, const HttpResponse& answer, TimePoint now,
                                        Duration idle) {
    if (answer.status == 200) return parse_token_response(answer.body.reveal(), now);
    return to_error(decode_failure(c.provider.family, answer.status, answer.body.reveal(), idle));
}

}  // namespace pb::oauth
