// Web Config as a function: Request in, Response out. Sessions, CSRF,
// login throttling, the security headers and the route table all live here,
// so the tests exercise every rule without a socket; server.cpp only carries
// bytes. Each page's handlers are in a file named for the page.
//
// Not thread-safe: the server calls handle() from one worker thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "store/store.hpp"
#include "web/http.hpp"
#include "web/operations.hpp"
#include "web/session.hpp"
#include "web/signin.hpp"

namespace pb::web {

enum class Tab;  // layout.hpp

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
    // The refusal of a Host header with a name this page is not known by
    // (app.cpp): a page of another site that rebinds its name to this
    // address must not be answered.
    std::optional<Response> wrong_host(const Request& request);

    struct Call;   // one request on its way through (app_internal.hpp)
    struct Route;  // an entry of the route table (app.cpp)
    Response route(Call& call);

    // The frame of every logged-in page (layout.cpp).
    Response framed(Call& call, Tab tab, std::string_view title, std::string body,
                    int status = 200);
    Response unavailable(Call& call, Tab tab, std::string_view title);
    bool fax_configured();

    // Log in and out (login_page.cpp).
    Response login_page(Call& call, std::string_view problem, int status = 200);
    // The cookie a form without a session is bound to (the login and My
    // Email forms): the browser's, or a new one sent with this answer.
    std::string form_cookie(Call& call);
    Response login(Call& call);
    Response logout(Call& call);

    // Network > Email Server > Basic and Fax > Fax Server > Email Server
    // Settings: one page for two profiles, its sign-in and its test email
    // (email_server_page.cpp).
    Response email_page(Call& call, std::string_view profile, std::string_view base);
    Response email_apply(Call& call, std::string_view profile, std::string_view base);
    Response email_signin(Call& call, std::string_view profile, std::string_view base);
    // A setup guide of docs/, at /guide/NAME.
    Response guide_page(Call& call);
    // An application (client credentials) fetches its token as soon as its
    // settings are applied; the problem to show when that fails.
    std::optional<std::string> app_sign_in(std::string_view profile, bool changed);
    // The Sign In panel's action on `profile` (start, finish, signout), also
    // the Users page's: the problem to show ("" when none), or nullopt for
    // an unknown action. `who` names the profile in the log.
    std::optional<std::string> signin_action(Call& call, std::string_view profile,
                                             std::string_view action, std::string_view who);
    Response signin_status(Call& call);
    Response test_email(Call& call, std::string_view base);

    // Network > Email Server > Connection Test (connection_test_page.cpp).
    Response connection_test(Call& call);

    // Network Security > CA Certificate and Root Certificate Update
    // (certificates_page.cpp).
    Response ca_page(Call& call);
    Response ca_import(Call& call);
    Response ca_remove(Call& call);
    Response root_update(Call& call);

    // Product Security > Change Administrator Password
    // (product_security_page.cpp).
    Response product_security(Call& call);

    // Device Management > Job Status (jobs_page.cpp).
    Response jobs_page(Call& call);
    Response job_path(Call& call);
    Response job_page(Call& call, std::int64_t id);
    Response job_retry(Call& call, std::int64_t id);

    // Scan to My Email, for the users themselves, with no administrator
    // login (my_email_page.cpp): a registered user signs in with their own
    // account.
    Response my_email_page(Call& call, std::string_view problem = {}, int status = 200);
    Response my_email(Call& call);
    Response my_email_status(Call& call);
    Response my_email_answer(const std::string& address, const SignInStatus& shown,
                             const std::string& ticket);

    // Device Management > Users (Scan to My Email) (users_page.cpp).
    Response users_page(Call& call);
    Response users_add(Call& call);
    Response users_remove(Call& call);
    Response users_signin(Call& call);
    bool user_exists(std::string_view profile);

    // Device Management > Status Sheet and Email Server Status
    // (status_sheet_page.cpp).
    Response status_sheet(Call& call, bool email_only);

    // The JSON API under /api/v1 (api.cpp), for API tokens only.
    Response api(Call& call);
    Response api_config_get(Call& call, std::string_view key);
    Response api_config_set(Call& call);
    Response api_signin_start(Call& call);
    Response api_signin_poll(Call& call);
    Response api_send(Call& call);
    // Who the request's API token is; nullopt when it has none that works.
    struct ApiCaller {
        std::string name;
        bool read_only = false;  // `api-token create --read-only`: status, jobs, metrics
    };
    std::optional<ApiCaller> api_caller(const Request& request);

    // Probes and figures (observe.cpp): /healthz and /readyz for anyone,
    // /metrics for metrics.allowed_networks or an API token.
    Response healthz(Call& call);
    Response readyz(Call& call);
    Response metrics(Call& call);

    store::Store& store_;
    SignInService& signin_;
    const Clock& clock_;
    Random& rng_;
    AppOptions options_;
    std::vector<std::string> certificate_names_;  // of web.cert, read at start
    Sessions sessions_;
    LoginForms login_forms_;
    LoginThrottle throttle_;
    // What one request of the My Email page started: the profile whose
    // sign-in it shows (empty for an address that is not registered), until
    // the code expires. The status link names it by a random ticket.
    struct MyEmailTicket {
        std::string profile;
        SignInStatus shown;
    };
    std::map<std::string, MyEmailTicket, std::less<>> my_email_tickets_;
    RequestLimit my_email_limit_;
};

// The script and style sheet (assets.cpp): files, because the
// Content-Security-Policy allows no inline code.
std::string_view app_js() noexcept;
std::string_view style_css() noexcept;

}  // namespace pb::web
