// Which transport a profile's mail leaves by now. `transport` says smtp,
// graph or auto; auto is SMTP until the server says SMTP AUTH is off for
// the mailbox or tenant (5.7.139), then Graph, remembered in the store for
// every process (serve, send --wait, status) and tied to the SMTP server
// settings and the sign-in: a new sign-in or another server tries SMTP again.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "service/runtime.hpp"

namespace pb::service {

settings::Transport transport_in_effect(Runtime& rt, std::string_view profile);
// auto met 5.7.139 for the profile.
void remember_smtp_auth_off(Runtime& rt, std::string_view profile);
// Adds "transport" ("smtp" or "graph") and, when auto chose Graph,
// "transport_reason" to a profile's status JSON.
void add_transport(nlohmann::json& status, Runtime& rt, std::string_view profile);

inline constexpr std::string_view kSmtpAuthOffReason = "SMTP AUTH is off for this mailbox";

}  // namespace pb::service
