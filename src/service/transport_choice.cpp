// The transport in effect (transport_choice.hpp).
#include "service/transport_choice.hpp"

#include <fmt/format.h>

namespace pb::service {
namespace {

std::string key(std::string_view profile) {
    return "graph-auto:" + std::string(profile);
}

std::string fingerprint(Runtime& rt, std::string_view profile) {
    const auto& c = rt.profile(profile);
    auto st = rt.status(profile);
    const auto signed_in =
        st && st->signed_in_at ? st->signed_in_at->time_since_epoch().count() : 0;
    return fmt::format("{}:{}:{}:{}", c.smtp_host, c.smtp_port,
                       settings::to_string(c.smtp_security), signed_in);
}

}  // namespace

settings::Transport transport_in_effect(Runtime& rt, std::string_view profile) {
    const auto kind = rt.profile(profile).transport;
    if (kind != settings::Transport::auto_) return kind;
    auto remembered = rt.store().get_sealed(key(profile));
    if (!remembered || !*remembered) return settings::Transport::smtp;
    return (*remembered)->reveal() == fingerprint(rt, profile) ? settings::Transport::graph
                                                               : settings::Transport::smtp;
}

void remember_smtp_auth_off(Runtime& rt, std::string_view profile) {
    (void)rt.store().put_sealed(key(profile), Secret(fingerprint(rt, profile)));
}

void add_transport(nlohmann::json& status, Runtime& rt, std::string_view profile) {
    const auto kind = transport_in_effect(rt, profile);
    status["transport"] = settings::to_string(kind);
    if (kind == settings::Transport::graph &&
        rt.profile(profile).transport == settings::Transport::auto_)
        status["transport_reason"] = kSmtpAuthOffReason;
}

}  // namespace pb::service
