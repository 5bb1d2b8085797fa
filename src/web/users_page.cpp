// Device Management > Users (Scan to My Email): the users registered as
// `postbridge users add` does, each signed in with their own account
// (profile user:NAME) from the same Sign In panel as the Email Server page,
// and removed with their sign-in.
#include "web/users_page.hpp"

#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "web/app.hpp"
#include "web/app_internal.hpp"
#include "web/email_server_html.hpp"
#include "web/html.hpp"
#include "web/layout.hpp"

namespace pb::web {
namespace {

constexpr std::string_view kUsersPath = "/device-management/users";
constexpr std::string_view kTitle = "Device Management > Users (Scan to My Email)";

struct UsersPage {
    struct Row {
        store::User user;
        SignInStatus signin;
    };
    std::string csrf;
    std::vector<Row> users;
    std::string notice, problem;
    std::string name, email;  // the add form as sent, when it comes back with an error
    // The user whose Sign In panel is open, with its page data.
    std::string active;
    std::string panel;  // render_signin_panel's HTML for `active`
};

// Each registered user with where their own sign-in stands.
std::vector<UsersPage::Row> rows_of(std::vector<store::User> users, SignInService& signin) {
    std::vector<UsersPage::Row> rows;
    for (auto& u : users) {
        auto st = signin.status("user:" + u.name);
        rows.push_back({std::move(u), std::move(st)});
    }
    return rows;
}

// Whether a sign-in failure means the organization's consent is missing.
bool consent_missing(std::string_view reason) {
    return reason.find("onsent") != std::string_view::npos ||
           reason.find("AADSTS65001") != std::string_view::npos;
}

std::string render_users_page(const UsersPage& page) {
    std::string out = render_messages(page.notice, page.problem);
    out +=
        R"(<p class="note" id="consent-note">Scan to My Email sends from each user's own address, so each user signs in with their own account. Before the first user can, an administrator of the organization signs in once with an account that has the global administrator role and ticks <strong>Consent on behalf of your organization</strong> to approve the permission request. After that, every registered user signs in on their own, on the <a href="/my-email" id="my-email-link">My Email page</a> (no administrator password needed; give users its address), or here with Sign In. A user's scans wait (code 360) until they have signed in, then go out by themselves.</p>)";
    bool consent = false;
    for (const auto& r : page.users) consent = consent || consent_missing(r.signin.reason);
    if (consent)
        out +=
            R"(<p class="error" id="consent-missing" role="alert">The organization has not consented to postbridge yet: an administrator with the global administrator role must sign in first and tick "Consent on behalf of your organization", then the user signs in again.</p>)";
    if (!page.panel.empty())
        out += fmt::format(R"(<h2>Sign in: {}</h2>)", escape(page.active)) + page.panel;
    if (page.users.empty()) {
        out += R"(<p id="no-users">No user is registered.</p>)";
    } else {
        out +=
            R"(<table id="users"><thead><tr><th>User</th><th>Email address</th><th>Current Status</th><th>Account</th><th></th></tr></thead><tbody>)";
        for (const auto& r : page.users) {
            const bool in = r.signin.state == SignInStatus::State::signed_in;
            const std::string profile = "user:" + r.user.name;
            std::string actions = fmt::format(
                R"(<form method="post" action="/device-management/users/signin" class="inline">{}<input type="hidden" name="profile" value="{}"><button type="submit" name="action" value="{}">{}</button></form> <form method="post" action="/device-management/users/remove" class="inline">{}<input type="hidden" name="name" value="{}"><button type="submit">Remove</button></form>)",
                csrf_input(page.csrf), escape(profile), in ? "signout" : "start",
                in ? "Sign Out" : "Sign In", csrf_input(page.csrf), escape(r.user.name));
            out += fmt::format(
                R"(<tr data-user="{}"><td>{}</td><td>{}</td><td class="status{}">{}</td><td>{}</td><td>{}</td></tr>)",
                escape(r.user.name), escape(r.user.name), escape(r.user.email),
                // The open panel's poll updates this cell too.
                r.user.name == page.active ? " js-status" : "", status_label(r.signin),
                escape(r.signin.account), actions);
            if (!r.signin.reason.empty() && r.user.name != page.active)
                out += fmt::format(R"(<tr><td></td><td colspan="4" class="error">{}</td></tr>)",
                                   escape(r.signin.reason));
        }
        out += "</tbody></table>";
    }
    out += fmt::format(
        R"(<h2>Register a user</h2><form method="post" action="/device-management/users/add">{}<div class="field"><label for="user-name">User name</label><div class="control"><input type="text" id="user-name" name="name" value="{}" autocomplete="off" required></div></div><div class="field"><label for="user-email">Email address</label><div class="control"><input type="text" id="user-email" name="email" value="{}" autocomplete="off" required></div></div><div class="buttons"><button type="submit" id="add-user">Add</button></div></form>)",
        csrf_input(page.csrf), escape(page.name), escape(page.email));
    return out;
}

}  // namespace

bool App::user_exists(std::string_view profile) {
    if (!profile.starts_with("user:")) return false;
    auto users = store_.users();
    if (!users) return false;
    for (const auto& u : *users)
        if (u.name == profile.substr(5)) return true;
    return false;
}

Response App::users_page(Call& call) {
    UsersPage page;
    page.csrf = call.session->csrf;
    page.notice = std::exchange(call.session->notice, {});
    page.problem = std::exchange(call.session->flash, {});
    auto users = store_.users();
    if (!users)
        page.problem = users.error().detail;
    else
        page.users = rows_of(std::move(*users), signin_);
    if (auto active = call.req.param("user"); active) {
        for (const auto& r : page.users) {
            if (r.user.name != *active) continue;
            page.active = r.user.name;
            EmailPage panel;
            panel.profile = "user:" + r.user.name;
            panel.base = std::string(kUsersPath);
            panel.csrf = page.csrf;
            panel.now = clock_.now();
            panel.signin = r.signin;
            std::string service = "custom";
            if (auto s = store_.load_settings())
                service = settings::to_string(s->profile_config(panel.profile).service);
            page.panel = render_signin_panel(panel, service, kUserSignedIn);
        }
    }
    return framed(call, Tab::device_management, kTitle, render_users_page(page));
}

Response App::users_add(Call& call) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string name = call.req.form("name").value_or("");
    const std::string email = call.req.form("email").value_or("");
    if (auto r = store_.add_user(name, email); !r) {
        // Shown again with what was typed, and the store's words (the
        // same as `postbridge users add`).
        UsersPage page;
        page.csrf = call.session->csrf;
        page.problem = r.error().detail;
        page.name = name;
        page.email = email;
        if (auto users = store_.users()) page.users = rows_of(std::move(*users), signin_);
        return framed(call, Tab::device_management, kTitle, render_users_page(page), 400);
    }
    options_.log(fmt::format("web: user {} registered", name));
    call.session->notice =
        fmt::format("Registered {} <{}>. The user can now sign in.", name, email);
    return Response::redirect(std::string(kUsersPath));
}

Response App::users_remove(Call& call) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string name = call.req.form("name").value_or("");
    (void)signin_.sign_out("user:" + name);
    if (auto r = store_.remove_user(name); !r) {
        call.session->flash = r.error().detail;
    } else {
        call.session->notice = fmt::format("Removed {} and its sign-in.", name);
        options_.log(fmt::format("web: user {} removed", name));
    }
    return Response::redirect(std::string(kUsersPath));
}

Response App::users_signin(Call& call) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    const std::string profile = call.req.form("profile").value_or("");
    if (!user_exists(profile)) {
        call.session->flash = fmt::format("'{}' is not a registered user.", profile);
        return Response::redirect(std::string(kUsersPath));
    }
    const std::string name = profile.substr(5);
    const std::string action = call.req.form("action").value_or("");
    const auto problem = signin_action(call, profile, action, profile);
    if (!problem) return Response::text(400, "Unknown action.\n");
    call.session->flash = *problem;
    if (action == "signout") return Response::redirect(std::string(kUsersPath));
    return Response::redirect(fmt::format("{}?user={}", kUsersPath, url_encode(name)));
}

}  // namespace pb::web
