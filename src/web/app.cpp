// Routes, sessions, CSRF and headers of Web Config (see app.hpp).
#include "web/app.hpp"

#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/secret.hpp"
#include "web/admin_pages.hpp"
#include "web/app_internal.hpp"
#include "web/html.hpp"
#include "web/pages.hpp"

namespace pb::web {
namespace {

// No inline script or style anywhere: the QR code is inline SVG markup,
// which the policy does not touch. No HSTS: the device usually runs on a
// self-signed certificate at a bare IP address, and pinning the browser to
// HTTPS there would lock the administrator out after a reset to HTTP.
constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

Duration session_timeout(store::Store& store) {
    auto s = store.load_settings();
    if (!s) return std::chrono::minutes{15};
    return s->global_config().web_session_timeout;
}

}  // namespace

App::App(store::Store& store, SignInService& signin, const Clock& clock, Random& rng,
         AppOptions options)
    : store_(store),
      signin_(signin),
      clock_(clock),
      rng_(rng),
      options_(std::move(options)),
      sessions_(clock, rng, session_timeout(store)),
      throttle_(clock) {}

Response App::handle(const Request& request) {
    Call call{request};
    if (auto id = request.cookie_value(cookie_name(request.secure)))
        call.session = sessions_.touch(*id);

    Response r = route(call);

    if (call.new_cookie && call.session != nullptr) {
        r.add("Set-Cookie",
              fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict{}", cookie_name(request.secure),
                          call.session->id, request.secure ? "; Secure" : ""));
    }
    r.set("Content-Security-Policy", std::string(kCsp));
    r.set("X-Frame-Options", "DENY");
    r.set("X-Content-Type-Options", "nosniff");
    r.set("Referrer-Policy", "no-referrer");
    r.set("Cross-Origin-Opener-Policy", "same-origin");
    // Pages carry settings, codes and CSRF tokens: never cached. Only the
    // two static files may be.
    if (!request.path.starts_with("/assets/")) r.set("Cache-Control", "no-store");
    return r;
}

Response App::route(Call& call) {
    const auto& req = call.req;
    const bool get = req.method == "GET" || req.method == "HEAD";
    const bool post = req.method == "POST";
    const auto& p = req.path;

    if (p == "/assets/app.js" && get) {
        Response r{200, {}, std::string(app_js())};
        r.set("Content-Type", "text/javascript; charset=utf-8").set("Cache-Control", "no-cache");
        return r;
    }
    if (p == "/assets/style.css" && get) {
        Response r{200, {}, std::string(style_css())};
        r.set("Content-Type", "text/css; charset=utf-8").set("Cache-Control", "no-cache");
        return r;
    }
    if (p == "/login") {
        if (post) return login(call);
        if (get) return login_page(call, "");
    }
    if (p == "/logout" && post) return logout(call);

    // The JSON API authenticates each request with an API token, not with
    // the session: scripts have no cookie, and a browser's cookie must not
    // open it (no CSRF token guards it).
    if (p == "/api/v1" || p.starts_with("/api/v1/")) return api(call);

    // Everything below is for the administrator only.
    if (!call.admin()) {
        if (post || p.starts_with("/api/")) return forbidden("Log in first.");
        return Response::redirect("/login");
    }
    if (p == "/" && get) return Response::redirect(std::string(kEmailBase));
    if (p == kEmailBase) {
        if (get) return email_page(call, "email", kEmailBase);
        if (post) return email_apply(call, "email", kEmailBase);
    }
    if (p == fmt::format("{}/signin", kEmailBase) && post)
        return email_signin(call, "email", kEmailBase);
    if (p == kFaxBase) {
        if (get) return email_page(call, "fax", kFaxBase);
        if (post) return email_apply(call, "fax", kFaxBase);
    }
    if (p == fmt::format("{}/signin", kFaxBase) && post) return email_signin(call, "fax", kFaxBase);
    if (p == "/api/signin-status" && get) return signin_status(call);
    if (auto r = route2(call); r.status != 0) return r;
    if (get || post) return Response::text(404, "Not found.\n");
    Response r = Response::text(405, "Method not allowed.\n");
    r.set("Allow", "GET, POST");
    return r;
}

Response App::login_page(Call& call, std::string_view problem, int status) {
    if (call.session == nullptr) {
        call.session = &sessions_.create();
        call.new_cookie = true;
    }
    Frame frame{"Log in", Tab::network, false, false, {}};
    return Response::html(render_page(frame, render_login_page(call.session->csrf, problem)),
                          status);
}

Response App::login(Call& call) {
    if (!call.csrf_ok()) return forbidden("The form has expired. Reload the page and try again.");
    const auto& client = call.req.client;
    if (const auto wait = throttle_.wait(client)) {
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(*wait).count() + 1;
        Response r = login_page(
            call, fmt::format("Too many wrong passwords. Try again in {} seconds.", secs), 429);
        r.set("Retry-After", std::to_string(secs));
        return r;
    }
    const Secret password(call.req.form("password").value_or(""));
    auto stored = store_.credential("admin", "admin");
    if (!stored) {
        options_.log(fmt::format("web: login: cannot read the administrator password: {}",
                                 stored.error().detail));
        return login_page(call, "The administrator password cannot be read. See the log.", 500);
    }
    if (!*stored || !verify_password(password, **stored)) {
        throttle_.failed(client);
        options_.log(fmt::format("web: wrong administrator password from {}", client));
        return login_page(call, "The password is incorrect.", 403);
    }
    throttle_.succeeded(client);
    options_.log(fmt::format("web: administrator logged in from {}", client));
    call.session = &sessions_.promote(call.session->id);
    call.new_cookie = true;
    return Response::redirect(std::string(kEmailBase));
}

Response App::logout(Call& call) {
    if (!call.csrf_ok()) return forbidden("The form has expired. Reload the page and try again.");
    sessions_.end(call.session->id);
    call.session = nullptr;
    Response r = Response::redirect("/login");
    // Expire the cookie in the browser too.
    r.add("Set-Cookie",
          fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
                      cookie_name(call.req.secure), call.req.secure ? "; Secure" : ""));
    return r;
}

bool App::fax_configured() {
    auto s = store_.load_settings();
    if (!s) return false;
    for (const auto& [k, v] : s->values())
        if (k.starts_with("fax.")) return true;
    return store_.has_secret("fax.password");
}

Response App::simple_page(Call& call, int tab, std::string_view title, std::string body) {
    Frame frame{std::string(title), static_cast<Tab>(tab), true, fax_configured(),
                call.session->csrf};
    return Response::html(render_page(frame, body));
}

namespace {

std::string page_title(std::string_view profile) {
    return profile == "fax" ? "Fax > Fax Server > Email Server Settings"
                            : "Network > Email Server > Basic";
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
    page.password_set = store_.has_secret(std::string(profile) + ".password");
    page.signin = signin_.status(profile);
    page.signin_panel = call.req.param("signin").has_value();
    if (call.req.param("saved")) page.notice = "The settings were applied.";
    // A failed sign-in action left its reason here for the page it redirected to.
    if (!call.session->flash.empty()) page.problem = std::exchange(call.session->flash, {});
    const bool fax = fax_configured();
    const Tab tab = profile == "fax" ? Tab::fax : Tab::network;
    if (!call.session->notice.empty()) page.notice = std::exchange(call.session->notice, {});
    Frame frame{page_title(profile), tab, true, fax, call.session->csrf};
    return Response::html(render_page(frame, render_subnav(tab, base, fax) +
                                                 render_email_page(page) +
                                                 render_test_email_form(base, page.csrf, profile)));
}

Response App::email_apply(Call& call, std::string_view profile, std::string_view base) {
    if (!call.csrf_ok()) return forbidden("The form has expired. Reload the page and try again.");
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
        if (!sub.changes.empty())
            options_.log(fmt::format("web: {} setting(s) of profile {} changed", sub.changes.size(),
                                     profile));
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
    page.password_set = store_.has_secret(std::string(profile) + ".password");
    page.signin = signin_.status(profile);
    Frame frame{page_title(profile), profile == "fax" ? Tab::fax : Tab::network, true,
                fax_configured(), call.session->csrf};
    return Response::html(render_page(frame, render_email_page(page)), 400);
}

Response App::email_signin(Call& call, std::string_view profile, std::string_view base) {
    if (!call.csrf_ok()) return forbidden("The form has expired. Reload the page and try again.");
    const std::string action = call.req.form("action").value_or("");
    std::string problem;
    if (action == "start") {
        auto r = signin_.start(profile);
        if (!r)
            problem =
                r.error().detail.empty() ? std::string(r.error().info().status) : r.error().detail;
        else
            options_.log(fmt::format("web: sign-in of profile {} started", profile));
    } else if (action == "finish") {
        auto r = signin_.finish(profile, call.req.form("redirect_url").value_or(""));
        if (!r)
            problem =
                r.error().detail.empty() ? std::string(r.error().info().status) : r.error().detail;
    } else if (action == "signout") {
        if (auto r = signin_.sign_out(profile); !r)
            problem = r.error().detail;
        else
            options_.log(fmt::format("web: profile {} signed out", profile));
        if (problem.empty()) return Response::redirect(std::string(base));
    } else {
        return Response::text(400, "Unknown action.\n");
    }
    call.session->flash = problem;
    return Response::redirect(fmt::format("{}?signin=1", base));
}

Response App::signin_status(Call& call) {
    const std::string profile = call.req.param("profile").value_or("email");
    if (profile != "email" && profile != "fax" && !user_exists(profile))
        return Response::json(R"({"error":"unknown profile"})", 404);
    const auto s = signin_.status(profile);
    nlohmann::json j{{"profile", profile},
                     {"state", to_string(s.state)},
                     {"status", status_label(s.state)},
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

std::string_view to_string(SignInStatus::State s) noexcept {
    switch (s) {
        case SignInStatus::State::signed_out:
            return "signed-out";
        case SignInStatus::State::pending:
            return "pending";
        case SignInStatus::State::signed_in:
            return "signed-in";
        case SignInStatus::State::expired:
            return "expired";
        case SignInStatus::State::reauth_required:
            return "reauth-required";
    }
    return "signed-out";
}

std::string_view status_label(SignInStatus::State s) noexcept {
    return s == SignInStatus::State::signed_in ? "Signed in" : "Signed out";
}

}  // namespace pb::web
