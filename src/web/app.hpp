// Web Config as a function: Request in, Response out. Sessions, CSRF,
// login throttling, the security headers and the routes all live here, so
// the tests exercise every rule without a socket; server.cpp only carries
// bytes.
//
// Not thread-safe: the server calls handle() from one worker thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "store/store.hpp"
#include "web/http.hpp"
#include "web/session.hpp"
#include "web/signin.hpp"

namespace pb::web {

struct AppOptions {
    // Where log lines go (never a password, token or cookie).
    std::function<void(std::string_view)> log = [](std::string_view) {};
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
