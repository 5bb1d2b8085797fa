#include "service/tokens.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/log.hpp"

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

Result<std::unique_ptr<oauth::TokenStore::Lock>> SealedTokenStore::lock(std::string_view profile) {
    struct Held final : oauth::TokenStore::Lock {
        explicit Held(std::unique_ptr<store::Store::Lock> l) : lock(std::move(l)) {}
        std::unique_ptr<store::Store::Lock> lock;
    };
    auto held = store_.lock("oauth-" + std::string(profile));
    if (!held) return std::move(held).error();
    return std::unique_ptr<oauth::TokenStore::Lock>(std::make_unique<Held>(std::move(*held)));
}

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

std::optional<std::string> sign_in_event(std::string_view profile,
                                         const std::optional<oauth::TokenSet>& before,
                                         const oauth::TokenSet& after) {
    using oauth::SignInState;
    const std::string who = after.account.empty() ? std::string(profile)
                                                  : fmt::format("{} ({})", profile, after.account);
    const bool new_sign_in = !before || before->signed_in_at != after.signed_in_at ||
                             before->state != SignInState::signed_in;
    const std::string why = after.state_reason.empty() ? "" : ": " + after.state_reason;
    switch (after.state) {
        case SignInState::signed_in:
            if (new_sign_in)
                return fmt::format("sign-in: {} signed in{}", who,
                                   after.service.empty() ? "" : " to " + after.service);
            if (before->last_refresh != after.last_refresh)
                return fmt::format("sign-in: {} refreshed", who);
            if (!before->keepalive_failed_at && after.keepalive_failed_at)
                return fmt::format("sign-in: {} keep-alive failed; it is tried again hourly", who);
            return std::nullopt;
        case SignInState::expired:
            if (before && before->state == SignInState::expired) return std::nullopt;
            return fmt::format("sign-in: {} lapsed (361){}", who, why);
        case SignInState::reauth_required:
            if (before && before->state == SignInState::reauth_required) return std::nullopt;
            return fmt::format("sign-in: {} revoked or refused (370){}", who, why);
        case SignInState::signed_out:
        case SignInState::pending:
            break;
    }
    return std::nullopt;
}

Result<void> SealedTokenStore::save(std::string_view profile, const oauth::TokenSet& tokens) {
    // What changed, for the log: the stored set is read first (a damaged
    // one counts as none).
    auto before = load(profile);
    auto r = store_.put_sealed(key(profile), Secret(encode_token_set(tokens)));
    if (r) {
        if (auto event =
                sign_in_event(profile, before ? *before : std::optional<oauth::TokenSet>{}, tokens))
            log::write(log::Level::info, *event);
    }
    return r;
}

Result<void> SealedTokenStore::remove(std::string_view profile) {
    auto r = store_.erase_sealed(key(profile));
    if (r) log::write(log::Level::info, fmt::format("sign-in: {} signed out", profile));
    return r;
}

}  // namespace pb::service
