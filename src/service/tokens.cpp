#include "service/tokens.hpp"

#include <nlohmann/json.hpp>

namespace pb::service {
namespace {

using nlohmann::json;

std::int64_t ms(TimePoint t) {
    return t.time_since_epoch().count();
}
TimePoint at(std::int64_t v) {
    return TimePoint{Duration{v}};
}

std::optional<oauth::SignInState> parse_state(std::string_view s) {
    using S = oauth::SignInState;
    for (S v : {S::signed_out, S::pending, S::signed_in, S::expired, S::reauth_required})
        if (oauth::to_string(v) == s) return v;
    return std::nullopt;
}

std::string key(std::string_view profile) {
    return "token:" + std::string(profile);
}

}  // namespace

std::string encode_token_set(const oauth::TokenSet& t) {
    json j = {{"v", 1},
              {"state", oauth::to_string(t.state)},
              {"state_reason", t.state_reason},
              {"service", t.service},
              {"account", t.account},
              {"scope", t.scope},
              {"access_token", t.access_token.reveal()},
              {"access_expires_at", ms(t.access_expires_at)},
              {"refresh_token", t.refresh_token.reveal()},
              {"signed_in_at", ms(t.signed_in_at)},
              {"last_refresh", ms(t.last_refresh)},
              {"last_use", ms(t.last_use)}};
    if (t.keepalive_failed_at) j["keepalive_failed_at"] = ms(*t.keepalive_failed_at);
    for (const auto& [name, r] : t.resources)
        j["resources"][name] = {{"access_token", r.access_token.reveal()},
                                {"expires_at", ms(r.expires_at)},
                                {"scope", r.scope}};
    return j.dump();
}

std::optional<oauth::TokenSet> decode_token_set(std::string_view text) {
    const json j = json::parse(text, nullptr, false);
    if (!j.is_object() || j.value("v", 0) != 1) return std::nullopt;
    try {
        oauth::TokenSet t;
        auto state = parse_state(j.at("state").get<std::string>());
        if (!state) return std::nullopt;
        t.state = *state;
        t.state_reason = j.value("state_reason", "");
        t.service = j.value("service", "");
        t.account = j.value("account", "");
        t.scope = j.value("scope", "");
        t.access_token = Secret(j.value("access_token", ""));
        t.access_expires_at = at(j.value("access_expires_at", std::int64_t{0}));
        t.refresh_token = Secret(j.value("refresh_token", ""));
        t.signed_in_at = at(j.value("signed_in_at", std::int64_t{0}));
        t.last_refresh = at(j.value("last_refresh", std::int64_t{0}));
        t.last_use = at(j.value("last_use", std::int64_t{0}));
        if (j.contains("keepalive_failed_at"))
            t.keepalive_failed_at = at(j.at("keepalive_failed_at").get<std::int64_t>());
        if (j.contains("resources") && j["resources"].is_object())
            for (const auto& [name, r] : j["resources"].items())
                t.resources[name] = oauth::ResourceToken{Secret(r.value("access_token", "")),
                                                         at(r.value("expires_at", std::int64_t{0})),
                                                         r.value("scope", "")};
        return t;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

Result<std::optional<oauth::TokenSet>> SealedTokenStore::load(std::string_view profile) {
    auto sealed = store_.get_sealed(key(profile));
    if (!sealed) return std::move(sealed).error();
    if (!*sealed) return std::optional<oauth::TokenSet>{};
    auto t = decode_token_set((*sealed)->reveal());
    if (!t)
        return fail(Errc::invalid_input,
                    "the stored sign-in of " + std::string(profile) +
                        " is unreadable: sign in again (postbridge signin --profile " +
                        std::string(profile) + ")");
    return std::optional<oauth::TokenSet>(std::move(*t));
}

Result<void> SealedTokenStore::save(std::string_view profile, const oauth::TokenSet& tokens) {
    return store_.put_sealed(key(profile), Secret(encode_token_set(tokens)));
}

Result<void> SealedTokenStore::remove(std::string_view profile) {
    return store_.erase_sealed(key(profile));
}

}  // namespace pb::service
