// Product Security > Change Administrator Password: the current password,
// under the login's throttle, and a new one by the rule of `postbridge
// admin-password set`. A change logs every other session out.
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

std::string render_product_security_page(std::string_view csrf, std::string_view notice,
                                         std::string_view problem) {
    return render_messages(notice, problem) +
           fmt::format(
               R"(<h2>Change Administrator Password</h2><form method="post" action="/product-security">{}<div class="field"><label for="current-password">Current password</label><div class="control"><input type="password" id="current-password" name="current" autocomplete="current-password" required></div></div><div class="field"><label for="new-password">New password</label><div class="control"><input type="password" id="new-password" name="new" autocomplete="new-password" required></div></div><div class="field"><label for="confirm-password">Confirm new password</label><div class="control"><input type="password" id="confirm-password" name="confirm" autocomplete="new-password" required></div></div><div class="buttons"><button type="submit" id="ok">OK</button></div></form>)",
               csrf_input(csrf));
}

}  // namespace

Response App::product_security(Call& call) {
    constexpr std::string_view title = "Product Security > Change Administrator Password";
    constexpr Tab tab = Tab::product_security;
    std::string notice, problem;
    int status = 200;
    if (call.post()) {
        if (!call.csrf_ok()) return forbidden(kExpiredForm);
        const Secret current(call.req.form("current").value_or(""));
        const Secret fresh(call.req.form("new").value_or(""));
        const Secret confirm(call.req.form("confirm").value_or(""));
        auto stored = store_.credential("admin", "admin");
        if (const auto wait = throttle_.wait(call.req.client)) {
            problem = "Too many wrong passwords. Try again later.";
            status = 429;
        } else if (!stored || !*stored || !verify_password(current, **stored)) {
            throttle_.failed(call.req.client);
            problem = "The current password is incorrect.";
            status = 403;
        } else if (fresh.size() < 8) {
            // The same rule and words as `postbridge admin-password set`.
            problem = "the password must have at least 8 characters";
            status = 400;
        } else if (!(fresh == confirm)) {
            problem = "The new passwords do not match.";
            status = 400;
        } else if (auto hash = hash_password(fresh, rng_);
                   auto r = store_.put_credential("admin", "admin", hash)) {
            // Whoever knew the old password, or holds a cookie from then,
            // is out; this browser stays in.
            sessions_.end_all_but(call.session->id);
            call.session->password = std::move(hash);
            notice = "The administrator password was changed. Every other session was logged out.";
            options_.log("web: the administrator password was changed");
        } else {
            problem = r.error().detail;
            status = 500;
        }
    }
    return framed(call, tab, title,
                  render_product_security_page(call.session->csrf, notice, problem), status);
}

}  // namespace pb::web
