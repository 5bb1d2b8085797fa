// Log in and out: the password form, its throttle per client, and the
// session that only a right password makes (a new id, so a cookie planted
// before the login is worth nothing).
#include <chrono>
#include <string>

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "core/secret.hpp"
#include "web/app.hpp"
#include "web/app_internal.hpp"
#include "web/html.hpp"
#include "web/layout.hpp"

namespace pb::web {
namespace {

std::string render_login_page(std::string_view csrf, std::string_view problem) {
    return fmt::format(
        R"({}<form method="post" action="/login" class="login">
<input type="hidden" name="csrf" value="{}">
<div class="field"><label for="password">Administrator password</label><div class="control"><input type="password" id="password" name="password" autocomplete="current-password" autofocus required></div></div>
<div class="buttons"><button type="submit" id="ok">OK</button></div>
</form>
)",
        problem.empty() ? ""
                        : fmt::format(R"(<p class="error" role="alert">{}</p>)", escape(problem)),
        escape(csrf));
}

}  // namespace

Response App::login_page(Call& call, std::string_view problem, int status) {
    const std::string cookie = form_cookie(call);
    Frame frame{"Log in", Tab::network, false, {}};
    return Response::html(
        render_page(frame, render_login_page(login_forms_.issue(cookie), problem)), status);
}

std::string App::form_cookie(Call& call) {
    // A live session's cookie, or a random value given now, which nothing on
    // this side keeps.
    std::string cookie = call.req.cookie_value(cookie_name(call.req.secure)).value_or("");
    if (cookie.empty()) {
        cookie = random_base64url(rng_, 32);
        call.login_cookie = cookie;
    }
    return cookie;
}

Response App::login(Call& call) {
    const auto cookie = call.req.cookie_value(cookie_name(call.req.secure)).value_or("");
    if (!login_forms_.valid(call.req.form("csrf").value_or(""), cookie))
        return forbidden(kExpiredForm);
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
    call.session = &sessions_.login(cookie, **stored);
    call.new_cookie = true;
    return Response::redirect(std::string(kEmailBase));
}

Response App::logout(Call& call) {
    if (!call.csrf_ok()) return forbidden(kExpiredForm);
    sessions_.end(call.session->id);
    call.session = nullptr;
    Response r = Response::redirect("/login");
    // Expire the cookie in the browser too.
    r.add("Set-Cookie",
          fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
                      cookie_name(call.req.secure), call.req.secure ? "; Secure" : ""));
    return r;
}

}  // namespace pb::web
