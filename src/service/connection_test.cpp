// The connection test's steps and their report (connection_test.hpp).
#include "service/connection_test.hpp"

#include <memory>
#include <optional>

#include <fmt/format.h>

#include "oauth/token_manager.hpp"
#include "service/transport_choice.hpp"

namespace pb::service {
namespace {

// Microsoft Graph instead of SMTP: the Graph token (its own resource, from
// the one sign-in), then the endpoint answering at all. Nothing is sent,
// and nothing Graph offers proves sendMail would work short of sending.
smtp::ConnectionTest graph_connection_test(Runtime& rt, std::string_view profile) {
    smtp::ConnectionTest t;
    const auto& config = rt.profile(profile);
    auto step_failed = [&](std::string step, Error e) {
        t.steps.push_back({std::move(step), false, e.describe()});
        t.error = std::move(e);
        return t;
    };
    auto manager = rt.tokens(profile);
    if (!manager) return step_failed("graph_token", manager.error());
    auto client = rt.oauth_client(profile);
    if (!client) return step_failed("graph_token", client.error());
    oauth::Resource graph{"graph", config.graph_scopes, config.graph_resource};
    auto token = (*manager)->access_token(profile, *client, graph, rt.refresh_margin(profile));
    if (!token) return step_failed("graph_token", token.error());
    t.steps.push_back({"graph_token", true,
                       fmt::format("got a Microsoft Graph token ({})", config.graph_scopes)});
    auto http = rt.http(profile);
    if (!http) return step_failed("graph_endpoint", http.error());
    auto answer = (*http)->send(oauth::get(config.graph_endpoint));
    if (!answer) return step_failed("graph_endpoint", answer.error());
    t.steps.push_back(
        {"graph_endpoint", true,
         fmt::format("{} answered (HTTP {})", config.graph_endpoint, answer->status)});
    return t;
}

}  // namespace

Result<smtp::ConnectionTest> run_connection_test(Runtime& rt, std::string_view profile) {
    if (auto r = rt.check_profile(profile); !r) return std::move(r).error();
    if (transport_in_effect(rt, profile) == settings::Transport::graph)
        return graph_connection_test(rt, profile);
    auto server = rt.smtp_server(profile);
    if (!server) return std::move(server).error();
    // Kept alive across the test: the credentials point into it.
    std::unique_ptr<ProfileTokenProvider> holder;
    auto creds = rt.credentials(profile, holder);
    if (!creds) return std::move(creds).error();
    // POP before SMTP: the POP3 login is the first step, as in delivery.
    std::optional<smtp::ConnectionStep> pop3;
    const auto& config = rt.profile(profile);
    if (config.auth_method == settings::AuthMethod::pop_before_smtp) {
        const std::string where = fmt::format("{}:{}", config.pop3_host, config.pop3_port);
        auto login = rt.pop_before_smtp(profile);
        if (!login) {
            smtp::ConnectionTest t;
            t.steps.push_back({"pop3", false, login.error().describe()});
            t.error = login.error();
            return t;
        }
        pop3 = smtp::ConnectionStep{"pop3", true, "logged in to the POP3 server " + where};
    }
    auto t = smtp::test_connection(*server, *creds);
    if (pop3) t.steps.insert(t.steps.begin(), *pop3);
    return t;
}

nlohmann::json connection_test_json(std::string_view profile, const smtp::ConnectionTest& t) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : t.steps)
        steps.push_back({{"step", s.name}, {"ok", s.ok}, {"detail", s.detail}});
    nlohmann::json j = {{"profile", profile}, {"ok", t.ok()}, {"steps", steps}};
    if (t.certificate)
        j["certificate"] = {{"subject", t.certificate->subject},
                            {"issuer", t.certificate->issuer},
                            {"not_before", format_rfc3339(t.certificate->not_before)},
                            {"not_after", format_rfc3339(t.certificate->not_after)},
                            {"verified", t.certificate->verified}};
    if (t.error)
        j.update({{"code", t.error->number()},
                  {"status", t.error->info().status},
                  {"remedy", t.error->info().remedy},
                  {"error", t.error->detail}});
    return j;
}

std::string connection_test_text(const smtp::ConnectionTest& t) {
    std::string out;
    for (const auto& s : t.steps)
        out += fmt::format("{:<8} {:<6} {}\n", s.name, s.ok ? "ok" : "FAILED", s.detail);
    if (t.certificate)
        out += fmt::format(
            "certificate: {}\n  issuer: {}\n  valid: {} to {}{}\n", t.certificate->subject,
            t.certificate->issuer, format_rfc3339(t.certificate->not_before),
            format_rfc3339(t.certificate->not_after),
            t.certificate->verified ? "" : "\n  NOT VERIFIED (Certificate Validation is disabled)");
    if (t.error)
        out += t.error->describe() + "\nWhat to do: " + std::string(t.error->info().remedy) + "\n";
    else
        out += "The connection test succeeded. No mail was sent.\n";
    return out;
}

}  // namespace pb::service
