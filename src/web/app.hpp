// Web Config as a function: Request in, Response out. Sessions, CSRF,
// login throttling, the security headers and the routes all live here, so
// the tests exercise every rule without a socket; server.cpp only carries
// bytes.
//
// Not thread-safe: the server calls handle() from one worker thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "store/store.hpp"
#include "web/http.hpp"
#include "web/operations.hpp"
#include "web/session.hpp"
#include "web/signin.hpp"

namespace pb::web {

struct AppOptions {
    // Where log lines go (never a password, token or cookie).
    std::function<void(std::string_view)> log = [](std::string_view) {};
    // The running service (connection test, jobs, sending, status sheet);
    // not owned. Without it those pages say they are not available.
    Operations* operations = nullptr;
};

class App {
  public:
    App(store::Store& store, SignInService& signin, const Clock& clock, Random& rng,
        AppOptions options = {});

    Response handle(const Request& request);

    // The session cookie's name: the __Host- prefix under HTTPS makes the
    // browser refuse it without Secure or from a subdomain.
    static std::string_view cookie_name(bool secure) noexcept {
        return secure ? "__Host-pb_session" : "pb_session";
    }

  private:
    struct Call;
    Response route(Call& call);
    Response login_page(Call& call, std::string_view problem, int status = 200);
    Response login(Call& call);
    Response logout(Call& call);
    Response email_page(Call& call, std::string_view profile, std::string_view base);
    Response email_apply(Call& call, std::string_view profile, std::string_view base);
    Response email_signin(Call& call, std::string_view profile, std::string_view base);
    Response signin_status(Call& call);
    Response simple_page(Call& call, int tab, std::string_view title, std::string body);
    bool fax_configured();

    // Part 2 (pages2.cpp).
    Response route2(Call& call);
    Response connection_test(Call& call);
    Response test_email(Call& call, std::string_view base);
    Response ca_page(Call& call);
    Response ca_import(Call& call);
    Response ca_remove(Call& call);
    Response root_update(Call& call);
    Response product_security(Call& call);
    Response jobs_page(Call& call);
    Response job_page(Call& call, std::int64_t id);
    Response job_retry(Call& call, std::int64_t id);
    Response users_page(Call& call);
    Response users_add(Call& call);
    Response users_remove(Call& call);
    Response users_signin(Call& call);
    Response status_sheet(Call& call, bool email_only);
    Response unavailable(Call& call, int tab, std::string_view title);
    Response framed(Call& call, int tab, std::string_view title, std::string body,
                    int status = 200);
    bool user_exists(std::string_view profile);

    // The JSON API under /api/v1 (api.cpp), for API tokens only.
    Response api(Call& call);
    Response api_config_get(Call& call, std::string_view key);
    Response api_config_set(Call& call);
    Response api_signin_start(Call& call);
    Response api_signin_poll(Call& call);
    Response api_send(Call& call);
    std::optional<std::string> api_token_name(const Request& request);

    store::Store& store_;
    SignInService& signin_;
    const Clock& clock_;
    Random& rng_;
    AppOptions options_;
    Sessions sessions_;
    LoginThrottle throttle_;
};

// The script and style sheet (assets.cpp): files, because the
// Content-Security-Policy allows no inline code.
std::string_view app_js() noexcept;
std::string_view style_css() noexcept;

}  // namespace pb::web
