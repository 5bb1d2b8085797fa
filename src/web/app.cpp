// The request's way through Web Config (see app.hpp): the session from the
// cookie, the route table, and the headers every answer carries. The pages
// themselves are in files named for them.
#include "web/app.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

#include "core/text.hpp"
#include "web/app_internal.hpp"
#include "web/certificate.hpp"

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

// The names of web.cert. The self-signed certificate has none to add: it is
// made for localhost and addresses, which are always accepted.
std::vector<std::string> certificate_names(store::Store& store) {
    auto s = store.load_settings();
    if (!s) return {};
    const std::string cert = s->global_config().web_cert;
    return cert.empty() ? std::vector<std::string>{} : certificate_dns_names(cert);
}

// A certificate's name against a requested one; "*." covers one label.
bool name_matches(std::string_view pattern, std::string_view name) {
    if (pattern.starts_with("*.")) {
        const auto dot = name.find('.');
        return dot != std::string_view::npos && dot > 0 && name.substr(dot) == pattern.substr(1);
    }
    return pattern == name;
}

bool listed(std::string_view list, std::string_view name) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        std::string_view item = trim(list.substr(0, comma));
        if (item.ends_with('.')) item.remove_suffix(1);
        if (iequals(item, name)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// The script and the style sheet: the browser may keep them, but asks
// again before each use (no-cache), so a new version shows at once.
Response asset(std::string_view body, std::string type) {
    Response r{200, {}, std::string(body)};
    r.set("Content-Type", std::move(type)).set("Cache-Control", "no-cache");
    return r;
}

}  // namespace

// An entry of the route table: which requests it takes, who may make them,
// and the handler, which gets the App and the request.
struct App::Route {
    enum class Methods {
        get,       // GET and HEAD
        post,      // POST
        get_post,  // both: the page shows its form and takes it
        any,       // every method: the handler answers for them all
    };
    enum class Access {
        anyone,     // no session needed
        api_token,  // no session needed: the handler checks the API token itself
        admin,      // the administrator's session
    };
    enum class Match {
        exact,    // the path itself
        subtree,  // the path and every path below it
        below,    // only the paths below it (something after the slash)
    };

    Methods methods;
    std::string_view path;
    Access access;
    Response (*handle)(App&, Call&);
    Match match = Match::exact;

    bool matches(const Call& call) const {
        const std::string_view p = call.req.path;
        const bool under = p.size() > path.size() && p.starts_with(path) && p[path.size()] == '/';
        bool path_ok = false;
        switch (match) {
            case Match::exact:
                path_ok = p == path;
                break;
            case Match::subtree:
                path_ok = p == path || under;
                break;
            case Match::below:
                path_ok = under && p.size() > path.size() + 1;
                break;
        }
        if (!path_ok) return false;
        switch (methods) {
            case Methods::get:
                return call.get();
            case Methods::post:
                return call.post();
            case Methods::get_post:
                return call.get() || call.post();
            case Methods::any:
                return true;
        }
        return false;
    }
};

App::App(store::Store& store, SignInService& signin, const Clock& clock, Random& rng,
         AppOptions options)
    : store_(store),
      signin_(signin),
      clock_(clock),
      rng_(rng),
      options_(std::move(options)),
      certificate_names_(certificate_names(store)),
      sessions_(clock, rng, session_timeout(store)),
      login_forms_(clock, rng),
      throttle_(clock),
      my_email_limit_(clock, 5, std::chrono::minutes{10}) {
    // The one way to the log: whatever a line quotes of a request, it stays
    // one line.
    options_.log = [log = std::move(options_.log)](std::string_view line) { log(escaped(line)); };
}

Response App::handle(const Request& request) {
    Call call{request, nullptr, false, {}};
    if (auto id = request.cookie_value(cookie_name(request.secure)))
        call.session = sessions_.touch(*id);
    // A password changed elsewhere (`admin-password set`) ends the sessions
    // made with the old one. A store that cannot be read now ends nothing.
    if (call.session != nullptr) {
        if (auto stored = store_.credential("admin", "admin");
            stored && (!*stored || **stored != call.session->password)) {
            sessions_.end(call.session->id);
            call.session = nullptr;
        }
    }

    auto refused = wrong_host(request);
    Response r = refused ? std::move(*refused) : route(call);

    const std::string cookie =
        call.new_cookie && call.session != nullptr ? call.session->id : call.login_cookie;
    if (!cookie.empty()) {
        r.add("Set-Cookie",
              fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict{}", cookie_name(request.secure),
                          cookie, request.secure ? "; Secure" : ""));
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

std::optional<Response> App::wrong_host(const Request& request) {
    const auto name = host_name(request.host);
    if (!name) return Response::text(400, "The Host header is neither a name nor an address.\n");
    // Addresses need no check: rebinding works through a name. Neither does
    // localhost, which browsers resolve themselves.
    if (name->empty() || *name == "localhost") return std::nullopt;
    if (std::ranges::any_of(certificate_names_,
                            [&](const std::string& n) { return name_matches(n, *name); }))
        return std::nullopt;
    // Read each time, so that setting it needs no restart.
    if (auto s = store_.load_settings(); s && listed(s->global_config().web_hostnames, *name))
        return std::nullopt;
    return Response::text(
        421, fmt::format("Web Config is not served under the name {0}. Open it by the device's "
                         "IP address, or allow the name: postbridge config set web.hostnames "
                         "{0} (a comma-separated list), or use a certificate for it (web.cert).\n",
                         *name));
}

Response App::route(Call& call) {
    using enum Route::Methods;
    using enum Route::Access;
    using enum Route::Match;
    // Every path of Web Config. The paths are the ones the pages link to and
    // the browser test opens: a change here is a change of the public URLs.
    static constexpr auto kRoutes = std::to_array<Route>({
        {get, "/assets/app.js", anyone,
         [](App&, Call&) { return asset(app_js(), "text/javascript; charset=utf-8"); }},
        {get, "/assets/style.css", anyone,
         [](App&, Call&) { return asset(style_css(), "text/css; charset=utf-8"); }},
        {get, "/login", anyone, [](App& a, Call& c) { return a.login_page(c, ""); }},
        // Scan to My Email: each user signs in on their own, with no
        // administrator login (my_email_page.cpp).
        {get, "/my-email", anyone, [](App& a, Call& c) { return a.my_email_page(c); }},
        {post, "/my-email", anyone, [](App& a, Call& c) { return a.my_email(c); }},
        {get, "/my-email/status", anyone, [](App& a, Call& c) { return a.my_email_status(c); }},
        {post, "/login", anyone, [](App& a, Call& c) { return a.login(c); }},
        {post, "/logout", anyone, [](App& a, Call& c) { return a.logout(c); }},
        // The JSON API authenticates each request with an API token, not with
        // the session: scripts have no cookie, and a browser's cookie must not
        // open it (no CSRF token guards it).
        {any, "/api/v1", api_token, [](App& a, Call& c) { return a.api(c); }, subtree},
        // For the machines that watch serve (observe.cpp): no session.
        {get, "/healthz", anyone, [](App& a, Call& c) { return a.healthz(c); }},
        {get, "/readyz", anyone, [](App& a, Call& c) { return a.readyz(c); }},
        {get, "/metrics", api_token, [](App& a, Call& c) { return a.metrics(c); }},

        {get, "/", admin, [](App&, Call&) { return Response::redirect(std::string(kEmailBase)); }},
        {get, "/network/email/basic", admin,
         [](App& a, Call& c) { return a.email_page(c, "email", kEmailBase); }},
        {post, "/network/email/basic", admin,
         [](App& a, Call& c) { return a.email_apply(c, "email", kEmailBase); }},
        {post, "/network/email/basic/signin", admin,
         [](App& a, Call& c) { return a.email_signin(c, "email", kEmailBase); }},
        {post, "/network/email/basic/test-email", admin,
         [](App& a, Call& c) { return a.test_email(c, kEmailBase); }},
        {get, "/fax/email-server", admin,
         [](App& a, Call& c) { return a.email_page(c, "fax", kFaxBase); }},
        {post, "/fax/email-server", admin,
         [](App& a, Call& c) { return a.email_apply(c, "fax", kFaxBase); }},
        {post, "/fax/email-server/signin", admin,
         [](App& a, Call& c) { return a.email_signin(c, "fax", kFaxBase); }},
        {post, "/fax/email-server/test-email", admin,
         [](App& a, Call& c) { return a.test_email(c, kFaxBase); }},
        // The Sign In panel's script polls this (the Email Server and Users pages).
        {get, "/api/signin-status", admin, [](App& a, Call& c) { return a.signin_status(c); }},
        // The setup guides (docs/), linked from the Basic page.
        {get, kGuidePath, admin, [](App& a, Call& c) { return a.guide_page(c); }, below},
        {get_post, "/network/email/connection-test", admin,
         [](App& a, Call& c) { return a.connection_test(c); }},

        {get, "/network-security/ca-certificate", admin,
         [](App& a, Call& c) { return a.ca_page(c); }},
        {post, "/network-security/ca-certificate/import", admin,
         [](App& a, Call& c) { return a.ca_import(c); }},
        {post, "/network-security/ca-certificate/remove", admin,
         [](App& a, Call& c) { return a.ca_remove(c); }},
        {get_post, "/network-security/root-certificate-update", admin,
         [](App& a, Call& c) { return a.root_update(c); }},

        {get_post, "/product-security", admin,
         [](App& a, Call& c) { return a.product_security(c); }},

        {get, "/device-management", admin,
         [](App&, Call&) { return Response::redirect(std::string(kJobsPath)); }},
        {get, "/device-management/jobs", admin, [](App& a, Call& c) { return a.jobs_page(c); }},
        // /device-management/jobs/ID and .../ID/retry; the handler answers
        // every other path below with 404, whatever the method.
        {any, "/device-management/jobs", admin, [](App& a, Call& c) { return a.job_path(c); },
         below},
        {get, "/device-management/users", admin, [](App& a, Call& c) { return a.users_page(c); }},
        {post, "/device-management/users/add", admin,
         [](App& a, Call& c) { return a.users_add(c); }},
        {post, "/device-management/users/remove", admin,
         [](App& a, Call& c) { return a.users_remove(c); }},
        {post, "/device-management/users/signin", admin,
         [](App& a, Call& c) { return a.users_signin(c); }},
        {get, "/device-management/status-sheet", admin,
         [](App& a, Call& c) { return a.status_sheet(c, false); }},
        {get, "/device-management/email-server-status", admin,
         [](App& a, Call& c) { return a.status_sheet(c, true); }},
    });

    const auto found =
        std::ranges::find_if(kRoutes, [&](const Route& r) { return r.matches(call); });
    const bool known = found != kRoutes.end();
    if (known && found->access != admin) return found->handle(*this, call);

    // A visitor asking for anything else: a page sends the browser to log
    // in; a form's post is refused rather than redirected (its data would be
    // lost), and so is a script's call under /api/, which has no use for a
    // login page.
    if (!call.admin()) {
        if (call.post() || call.req.path.starts_with("/api/")) return forbidden("Log in first.");
        return Response::redirect("/login");
    }
    if (known) return found->handle(*this, call);
    if (call.get() || call.post()) return not_found();
    Response r = Response::text(405, "Method not allowed.\n");
    r.set("Allow", "GET, POST");
    return r;
}

}  // namespace pb::web
