// Ending a sign-in that a change of settings replaced (replaced_sign_in.hpp).
#include "service/replaced_sign_in.hpp"

#include <fmt/format.h>

#include "core/text.hpp"
#include "oauth/http_curl.hpp"
#include "oauth/token_manager.hpp"
#include "service/pending.hpp"
#include "service/runtime.hpp"

namespace pb::service {

std::vector<std::string> replaced_sign_ins(const settings::Settings& before,
                                           const settings::Settings& after,
                                           const std::vector<std::string>& profiles) {
    std::vector<std::string> out;
    for (const auto& profile : profiles) {
        for (const auto key : kSignInIdentity) {
            if (before.get(profile, key) != after.get(profile, key)) {
                out.push_back(profile);
                break;
            }
        }
    }
    return out;
}

bool belongs_to(const oauth::TokenSet& tokens, const settings::ProfileConfig& config) {
    return tokens.service.empty() || tokens.service == settings::to_string(config.service);
}

Result<std::optional<EndedSignIn>> end_sign_in(store::Store& store, oauth::TokenStore& tokens,
                                               const settings::Settings& before,
                                               std::string_view profile, const Clock& clock) {
    erase_pending(store, std::string(profile));
    auto stored = tokens.load(profile);
    if (!stored) return std::move(stored).error();
    if (!*stored) return std::optional<EndedSignIn>{};
    EndedSignIn ended;
    ended.profile = std::string(profile);
    ended.account = (*stored)->account;

    // The old provider, as the settings before the change describe it.
    const settings::ProfileConfig old = before.profile_config(profile);
    auto forget = [&](const Error& why) -> Result<std::optional<EndedSignIn>> {
        ended.note = "the old provider could not be asked to revoke it: " + why.detail;
        if (auto r = tokens.remove(profile); !r) return std::move(r).error();
        return std::optional<EndedSignIn>{std::move(ended)};
    };
    auto http = oauth::CurlHttpClient::create(curl_options(old, store));
    if (!http) return forget(http.error());
    auto provider = provider_for(old, profile, **http);
    if (!provider) return forget(provider.error());
    auto client = client_for(old, store, profile, std::move(*provider));
    if (!client) return forget(client.error());
    oauth::TokenManager manager(**http, tokens, clock);
    auto report = manager.sign_out(profile, *client);
    if (!report) return std::move(report).error();
    ended.revoked = report->revoked;
    if (report->revoke_error)
        ended.note = "the old provider could not revoke it: " + report->revoke_error->detail;
    else if (!report->revoked)
        ended.note = "the old provider has no revocation endpoint; the tokens were deleted here";
    return std::optional<EndedSignIn>{std::move(ended)};
}

std::string describe(const EndedSignIn& e) {
    const std::string who = e.account.empty() ? "the sign-in" : "the sign-in of " + e.account;
    std::string s = fmt::format("{} (profile {}) was ended, since it belongs to the old settings",
                                who, e.profile);
    s[0] = ascii_upper(s[0]);
    if (e.revoked) return s + ", and revoked at the old provider.";
    return s + (e.note.empty() ? "." : ": " + e.note + ".");
}

}  // namespace pb::service
