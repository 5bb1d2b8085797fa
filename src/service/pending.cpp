#include "service/pending.hpp"

#include <nlohmann/json.hpp>

namespace pb::service {
namespace {

using nlohmann::json;

std::string key_of(const std::string& profile) {
    return "pending:" + profile;
}

}  // namespace

Result<void> put_pending(store::Store& store, const std::string& profile, const PendingSignIn& p) {
    json j{
        {"nonce", p.nonce},
        {"user_code", p.user_code},
        {"verification_uri", p.verification_uri},
        {"expires_at", p.expires_at.time_since_epoch().count()},
        {"interval_ms", std::chrono::duration_cast<std::chrono::milliseconds>(p.interval).count()}};
    if (p.device_code) j["device_code"] = std::string(p.device_code->reveal());
    return store.put_sealed(key_of(profile), Secret(j.dump()));
}

Result<std::optional<PendingSignIn>> get_pending(store::Store& store, const std::string& profile) {
    auto sealed = store.get_sealed(key_of(profile));
    if (!sealed) return std::move(sealed).error();
    if (!*sealed) return std::optional<PendingSignIn>{};
    const json j = json::parse((*sealed)->reveal(), nullptr, false);
    if (!j.is_object()) return std::optional<PendingSignIn>{};
    PendingSignIn p;
    p.nonce = j.value("nonce", "");
    p.user_code = j.value("user_code", "");
    p.verification_uri = j.value("verification_uri", "");
    p.expires_at = TimePoint(Duration(j.value("expires_at", Duration::rep{0})));
    p.interval = std::chrono::milliseconds(j.value("interval_ms", std::int64_t{0}));
    if (j.contains("device_code") && j["device_code"].is_string())
        p.device_code = Secret(j["device_code"].get<std::string>());
    return std::optional<PendingSignIn>{std::move(p)};
}

void erase_pending(store::Store& store, const std::string& profile, const std::string& nonce) {
    if (auto p = get_pending(store, profile); p && *p && (*p)->nonce == nonce)
        (void)store.erase_sealed(key_of(profile));
}

void erase_pending(store::Store& store, const std::string& profile) {
    (void)store.erase_sealed(key_of(profile));
}

PendingSignIn pending_for(const oauth::DeviceAuthorization& a, std::string nonce) {
    PendingSignIn p;
    p.nonce = std::move(nonce);
    p.user_code = a.user_code;
    p.verification_uri = a.verification_uri;
    p.expires_at = a.expires_at;
    p.interval = a.interval;
    return p;
}

oauth::DeviceAuthorization authorization_of(const PendingSignIn& p) {
    oauth::DeviceAuthorization a;
    if (p.device_code) a.device_code = *p.device_code;
    a.user_code = p.user_code;
    a.verification_uri = p.verification_uri;
    a.interval = p.interval;
    a.expires_at = p.expires_at;
    return a;
}

}  // namespace pb::service
