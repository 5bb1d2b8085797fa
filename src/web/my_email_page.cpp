// Scan to My Email, for the users themselves (/my-email, no administrator
// login). A registered user types their address and gets a device code for
// their own profile (user:NAME); the sign-in is kept only when the account
// that signs in is that address (service/device_sign_in.hpp), and their held
// scans then go out by themselves.
//
// Anyone on the network can reach the page, so:
// - an address that is not registered gets the same answer as one that is:
//   a real device code from the same provider, which nobody polls for
//   (SignInService::decoy), so neither the page nor its timing tells which
//   addresses are registered;
// - a request never cancels a sign-in that is out: while a user's code is
//   pending, the page shows that code again instead of starting another;
// - each client address may ask 5 times in 10 minutes (RequestLimit);
// - the form carries a token bound to the browser's cookie, as the login
//   form does.
#include <algorithm>
#include <chrono>
#include <string>

#include <fmt/format.h>

#include "core/text.hpp"
#include "web/app.hpp"
#include "web/app_internal.hpp"
#include "web/email_server_html.hpp"
#include "web/html.hpp"
#include "web/layout.hpp"
#include "web/users_page.hpp"

namespace pb::web {
namespace {

constexpr std::string_view kPath = "/my-email";
constexpr std::string_view kTitle = "Scan to My Email > Sign In";
constexpr std::size_t kMaxTickets = 1024;

Response anonymous_page(std::string_view body, int status = 200) {
    Frame frame{std::string(kTitle), Tab::device_management, false, {}};
    return Response::html(render_page(frame, body), status);
}

}  // namespace

Response App::my_email_page(Call& call, std::string_view problem, int status) {
    // Bound to the browser's cookie, as the login form is.
    const std::string cookie = form_cookie(call);
    const std::string body = fmt::format(
        R"({}<p>Scan to My Email sends your scans from your own address. Sign in once with your own account; your scans then go out by themselves.</p>
<form method="post" action="{}" id="my-email-form">
<input type="hidden" name="csrf" value="{}">
<div class="field"><label for="my-address">Your email address</label><div class="control"><input type="email" id="my-address" name="address" autocomplete="email" required autofocus></div></div>
<div class="buttons"><button type="submit" id="my-sign-in">Sign In</button></div>
</form>
)",
        problem.empty() ? ""
                        : fmt::format(R"(<p class="error" role="alert">{}</p>)", escape(problem)),
        kPath, escape(login_forms_.issue(cookie)));
    return anonymous_page(body, status);
}

Response App::my_email(Call& call) {
    const auto cookie = call.req.cookie_value(cookie_name(call.req.secure)).value_or("");
    if (!login_forms_.valid(call.req.form("csrf").value_or(""), cookie))
        return forbidden(kExpiredForm);
    if (const auto wait = my_email_limit_.take(call.req.client)) {
        const auto mins = std::chrono::duration_cast<std::chrono::minutes>(*wait).count() + 1;
        Response r = my_email_page(
            call,
            fmt::format("Too many sign-in requests from this computer. Try again in {} "
                        "minute(s).",
                        mins),
            429);
        r.set("Retry-After", std::to_string(mins * 60));
        return r;
    }
    const std::string address(trim(call.req.form("address").value_or("")));
    if (address.empty() || address.find('@') == std::string::npos || address.size() > 254)
        return my_email_page(call, "Enter your email address, such as name@example.com.", 400);

    // Users sign in here with device codes only; said alike to every
    // address, before anyone's is looked up.
    if (auto s = store_.load_settings();
        !s || s->profile_config("email").auth_method != settings::AuthMethod::oauth2 ||
        s->profile_config("email").oauth_grant != settings::Grant::device)
        return my_email_page(call,
                             "This organization's users are signed in by the administrator, on "
                             "the Users page. Ask the administrator.",
                             400);

    // Whose address it is, if anyone's.
    std::string profile;
    if (auto users = store_.users()) {
        for (const auto& u : *users)
            if (iequals(u.email, address)) profile = "user:" + u.name;
    }
    SignInStatus shown;
    std::string started;  // for the log: what this request did
    if (!profile.empty()) {
        const SignInStatus now = signin_.status(profile);
        if (now.state == SignInStatus::State::pending && !now.user_code.empty()) {
            shown = now;  // the code that is out, not a new one that would cancel it
            started = "showed the pending code of";
        } else if (now.state == SignInStatus::State::pending) {
            // Out elsewhere (the command line), with no code to show here:
            // left alone, and answered like an unknown address.
            profile.clear();
        } else {
            auto r = signin_.start(profile);
            if (!r) {
                options_.log(fmt::format("web: my-email: the sign-in of {} could not start: {}",
                                         profile, r.error().detail));
                return my_email_page(call, "The sign-in could not start. Ask the administrator.",
                                     503);
            }
            shown = *r;
            started = "started the sign-in of";
        }
    }
    if (profile.empty()) {
        auto r = signin_.decoy("email");
        if (!r) {
            options_.log("web: my-email: no code for an unregistered address: " + r.error().detail);
            return my_email_page(call, "The sign-in could not start. Ask the administrator.", 503);
        }
        shown = *r;
        started = "answered an address that is not registered for";
    }
    if (shown.user_code.empty())
        return my_email_page(call,
                             "This organization's users are signed in by the administrator, on "
                             "the Users page. Ask the administrator.",
                             400);

    // The ticket of the status link; forget the expired ones first.
    const auto now = clock_.now();
    std::erase_if(my_email_tickets_,
                  [&](const auto& kv) { return kv.second.shown.expires_at <= now; });
    if (my_email_tickets_.size() >= kMaxTickets) my_email_tickets_.erase(my_email_tickets_.begin());
    const std::string ticket = random_base64url(rng_, 18);
    my_email_tickets_[ticket] = MyEmailTicket{profile, shown};
    options_.log(fmt::format("web: my-email from {}: {} {}", call.req.client, started,
                             profile.empty() ? std::string("-") : profile));
    return my_email_answer(address, shown, ticket);
}

Response App::my_email_answer(const std::string& address, const SignInStatus& shown,
                              const std::string& ticket) {
    const auto left = std::max(Duration{0}, shown.expires_at - clock_.now());
    const std::string uri = escape(shown.verification_uri);
    const std::string body = fmt::format(
        R"(<p>If <strong>{0}</strong> is registered for Scan to My Email, sign in with that account:</p>
<p id="signin-message">To sign in, use a web browser to open the page <a href="{1}" target="_blank" rel="noopener noreferrer">{1}</a> and enter the code <strong id="user-code">{2}</strong> to authenticate.</p>
{3}<p>Time left: {4}. Sign in with the account of {0} only: another account is refused.</p>
<p><a id="my-status" href="{5}/status?t={6}">See whether the sign-in is done</a></p>
)",
        escape(address), uri, escape(shown.user_code),
        qr_svg(shown.verification_uri_complete.empty() ? shown.verification_uri
                                                       : shown.verification_uri_complete),
        time_left(left), kPath, escape(ticket));
    return anonymous_page(body);
}

Response App::my_email_status(Call& call) {
    const std::string ticket = call.req.param("t").value_or("");
    const auto it = my_email_tickets_.find(ticket);
    const auto now = clock_.now();
    if (it == my_email_tickets_.end() || it->second.shown.expires_at <= now) {
        return anonymous_page(fmt::format(
            R"(<p id="my-result">This sign-in has expired or is unknown. <a href="{}">Start again</a>.</p>)",
            kPath));
    }
    const auto& t = it->second;
    // An unregistered address's code never completes: it looks the same as
    // a real one that is still waiting.
    const SignInStatus s = t.profile.empty() ? t.shown : signin_.status(t.profile);
    std::string result;
    if (s.state == SignInStatus::State::signed_in) {
        result = fmt::format(R"(<p id="my-result" class="done">{}</p><p>Signed in as {}.</p>)",
                             kUserSignedIn, escape(s.account));
        my_email_tickets_.erase(it);
    } else if (s.state == SignInStatus::State::pending) {
        result = fmt::format(
            R"(<p id="my-result">Waiting for you to sign in: open <a href="{0}" target="_blank" rel="noopener noreferrer">{0}</a> and enter the code <strong>{1}</strong>. Time left: {2}.</p><p><a href="{3}/status?t={4}">Look again</a></p>)",
            escape(t.shown.verification_uri), escape(t.shown.user_code),
            time_left(std::max(Duration{0}, t.shown.expires_at - now)), kPath, escape(ticket));
    } else {
        result = fmt::format(
            R"(<p id="my-result" class="error">{}</p><p><a href="{}">Start again</a></p>)",
            escape(s.reason.empty() ? "The sign-in did not complete." : s.reason), kPath);
    }
    return anonymous_page(result);
}

}  // namespace pb::web
