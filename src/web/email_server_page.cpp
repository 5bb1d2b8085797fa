// Network > Email Server > Basic and Fax > Fax Server > Email Server
// Settings: one page for the profiles email and fax, at its own path each.
// Here the settings form is applied, the Sign In panel's actions are taken
// and polled, and the test email is handed to the running service; the
// HTML is email_server_html.cpp's.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "web/app.hpp"
#include "web/app_internal.hpp"
#include "web/email_server_html.hpp"
#include "web/guides.hpp"
#include "web/layout.hpp"

namespace pb::web {
namespace {

std::string page_title(std::string_view profile) {
    return profile == "fax" ? "Fax > Fax Server > Email Server Settings"
                            : "Network > Email Server > Basic";
}

// The page's secret fields that have a stored value: they show "(unchanged)"
// and never the value.
std::set<std::string, std::less<>> stored_secrets(store::Store& store, std::string_view profile) {
    std::set<std::string, std::less<>> set;
    for (const char* key : {"password", "oauth.client_secret"})
        if (store.has_secret(fmt::format("{}.{}", profile, key))) set.emplace(key);
    return set;
}

}  // namespace

Response App::email_page(Call& call, std::string_view profile, std::string_view base) {
    auto settings = store_.load_settings();
    EmailPage page;
    page.profile = std::string(profile);
    page.base = std::string(base);
    page.csrf = call.session->csrf;
    page.now = clock_.now();
    if (settings) {
        page.values = email_values(*settings, profile);
        page.warnings = settings->warnings(profile);
    } else {
        page.problem = settings.error().detail;
    }
    page.secrets_set = stored_secrets(store_, profile);
    page.signin = signin_.status(profile);
    page.signin_panel = call.req.param("signin").has_value();
    if (call.req.param("saved")) page.notice = "The settings were applied.";
    // A failed sign-in action left its reason here for the page it redirected to.
    if (!call.session->flash.empty()) page.problem = std::exchange(call.session->flash, {});
    const Tab tab = profile == "fax" ? Tab::fax : Tab::network;
    if (!call.session->notice.empty()) page.notice = std::exchange(call.session->notice, {});
    Frame frame{page_title(profile), tab, true, call.session->csrf};
    return Response::html(render_page(frame, render_subnav(tab, base) + render_email_page(page) +
                                                 render_test_email_form(base, page.csrf, profile)));
}

Response App::email_apply(Call& call, std::string_view profile, std::string_view base) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    auto settings = store_.load_settings();
    if (!settings) return Response::text(500, settings.error().detail + "\n");
    const auto form = parse_form(call.req.body);
    if (!form) return Response::text(400, "The form could not be read.\n");

    Submission sub = read_email_form(*settings, profile, *form);
    std::string problem;
    if (sub.errors.empty()) {
        if (auto r = store_.set_values(sub.changes); !r) problem = r.error().detail;
    }
    if (sub.errors.empty() && problem.empty()) {
        std::string notice;
        if (!sub.changes.empty()) {
            options_.log(fmt::format("web: {} setting(s) of profile {} changed", sub.changes.size(),
                                     profile));
            // One service at a time: a sign-in of the old settings ends.
            for (const auto& said : signin_.end_replaced(*settings)) notice += " " + said;
        }
        if (auto problem_after = app_sign_in(profile, !sub.changes.empty())) {
            call.session->flash = *problem_after;
        } else if (!notice.empty()) {
            call.session->notice = "The settings were applied." + notice;
        }
        if (call.req.form("signin")) return Response::redirect(fmt::format("{}?signin=1", base));
        return Response::redirect(fmt::format("{}?saved=1", base));
    }

    // Show the form as it was sent, each message beside its field.
    EmailPage page;
    page.profile = std::string(profile);
    page.base = std::string(base);
    page.csrf = call.session->csrf;
    page.now = clock_.now();
    page.values = email_values(*settings, profile);
    for (auto& [k, v] : sub.values) page.values[k] = v;
    page.errors = std::move(sub.errors);
    page.problem = problem;
    page.secrets_set = stored_secrets(store_, profile);
    page.signin = signin_.status(profile);
    Frame frame{page_title(profile), profile == "fax" ? Tab::fax : Tab::network, true,
                call.session->csrf};
    return Response::html(render_page(frame, render_email_page(page)), 400);
}

std::optional<std::string> App::app_sign_in(std::string_view profile, bool changed) {
    auto settings = store_.load_settings();
    if (!settings) return std::nullopt;
    const auto cfg = settings->profile_config(profile);
    if (cfg.auth_method != settings::AuthMethod::oauth2 ||
        cfg.oauth_grant != settings::Grant::client_credentials)
        return std::nullopt;
    if (!changed && signin_.status(profile).state == SignInStatus::State::signed_in)
        return std::nullopt;
    auto r = signin_.start(profile);
    if (!r) return fmt::format("Code {}: {}", r.error().number(), message_of(r.error()));
    return std::nullopt;
}

std::optional<std::string> App::signin_action(Call& call, std::string_view profile,
                                              std::string_view action, std::string_view who) {
    std::string problem;
    if (action == "start") {
        auto r = signin_.start(profile);
        if (!r)
            problem = message_of(r.error());
        else
            options_.log(fmt::format("web: sign-in of {} started", who));
    } else if (action == "finish") {
        auto r = signin_.finish(profile, call.req.form("redirect_url").value_or(""));
        if (!r) problem = message_of(r.error());
    } else if (action == "signout") {
        if (auto r = signin_.sign_out(profile); !r)
            problem = r.error().detail;
        else
            options_.log(fmt::format("web: {} signed out", who));
    } else {
        return std::nullopt;
    }
    return problem;
}

Response App::email_signin(Call& call, std::string_view profile, std::string_view base) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string action = call.req.form("action").value_or("");
    const auto problem = signin_action(call, profile, action, fmt::format("profile {}", profile));
    if (!problem) return Response::text(400, "Unknown action.\n");
    if (action == "signout" && problem->empty()) return Response::redirect(std::string(base));
    call.session->flash = *problem;
    return Response::redirect(fmt::format("{}?signin=1", base));
}

Response App::signin_status(Call& call) {
    const std::string profile = call.req.param("profile").value_or("email");
    if (profile != "email" && profile != "fax" && !user_exists(profile))
        return Response::json(R"({"error":"unknown profile"})", 404);
    const auto s = signin_.status(profile);
    nlohmann::json j{{"profile", profile},
                     {"state", to_string(s.state)},
                     {"status", status_label(s)},
                     {"account", s.account},
                     {"reason", s.reason}};
    if (s.state == SignInStatus::State::pending && !s.user_code.empty()) {
        j["user_code"] = s.user_code;
        j["verification_uri"] = s.verification_uri;
        j["expires_in"] = std::max<std::int64_t>(
            0,
            std::chrono::duration_cast<std::chrono::seconds>(s.expires_at - clock_.now()).count());
    }
    return Response::json(j.dump());
}

Response App::guide_page(Call& call) {
    const std::string_view name = std::string_view(call.req.path).substr(kGuidePath.size() + 1);
    const auto it = guides().find(name);
    if (it == guides().end()) return not_found();
    std::string_view title = it->second.substr(0, it->second.find('\n'));
    while (title.starts_with('#') || title.starts_with(' ')) title.remove_prefix(1);
    std::string_view body = it->second.substr(std::min(it->second.size(), it->second.find('\n')));
    return framed(call, Tab::network, std::string(title),
                  R"(<article class="guide">)" + render_guide(body) + "</article>");
}

Response App::test_email(Call& call, std::string_view base) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string profile = base == kFaxBase ? "fax" : "email";
    if (options_.operations == nullptr) {
        call.session->flash = "Sending needs the running service (postbridge serve).";
        return Response::redirect(std::string(base));
    }
    SendRequest req;
    req.profile = profile;
    req.to = {call.req.form("to").value_or("")};
    if (req.to.front().empty()) {
        call.session->flash = "Enter the address to send the test email to.";
        return Response::redirect(std::string(base));
    }
    req.subject = "postbridge test email";
    req.body = fmt::format(
        "This is a test email from postbridge Web Config, sent with the settings of {}.\n",
        profile);
    auto r = options_.operations->send(req);
    if (!r) {
        call.session->flash = fmt::format("Code {}: {}", r.error().number(), message_of(r.error()));
    } else {
        const std::string id = (*r)["job"].dump();
        call.session->notice =
            r->contains("message")
                ? fmt::format("The test email is job {}, held: {}", id,
                              (*r)["message"].get<std::string>())
                : fmt::format(
                      "The test email was accepted as job {}. See Job Status for its result.", id);
        options_.log(fmt::format("web: test email of {} accepted as job {}", profile, id));
    }
    return Response::redirect(std::string(base));
}

}  // namespace pb::web
