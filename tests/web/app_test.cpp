// Web Config's rules without a socket: login, sessions and cookie flags,
// CSRF, throttling, escaping, security headers, field validation, presets,
// and the sign-in panel over a scripted SignInService.
#include "web/app.hpp"
#include "web/guides.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>

#include "core/crypto.hpp"
#include "storage/backends.hpp"
#include "support/fakes.hpp"
#include "support/temp_dir.hpp"
#include "web/certificate.hpp"
#include "web/html.hpp"
#include "web/http.hpp"

namespace pb::web {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kPassword = "correct horse battery";

class ScriptedSignIn final : public SignInService {
  public:
    SignInStatus next;  // what status() answers
    int starts = 0;
    int sign_outs = 0;
    Result<SignInStatus> start(std::string_view) override {
        ++starts;
        next.state = SignInStatus::State::pending;
        next.user_code = "WDJB-MJHT";
        next.verification_uri = "https://example.test/device";
        next.expires_at = TimePoint{std::chrono::seconds{1'800'000'600}};
        return next;
    }
    SignInStatus status(std::string_view) override { return next; }
    Result<SignInStatus> finish(std::string_view, std::string_view) override {
        return fail(Errc::not_signed_in, "declined");
    }
    Result<void> sign_out(std::string_view) override {
        ++sign_outs;
        next = {};
        return {};
    }
    // What the page asked to end after a change of settings: the service
    // before it (the real one is tested in tests/web/operations_service_test.cpp).
    std::vector<std::string> replaced_from;
    int decoys = 0;
    Result<SignInStatus> decoy(std::string_view) override {
        ++decoys;
        SignInStatus s;
        s.state = SignInStatus::State::pending;
        s.user_code = "QXPL-TRMZ";
        s.verification_uri = "https://example.test/device";
        s.expires_at = TimePoint{std::chrono::seconds{1'800'000'600}};
        return s;
    }
    std::vector<std::string> end_replaced(const settings::Settings& before) override {
        replaced_from.push_back(before.get("email", "service"));
        return {};
    }
};

struct Browser {
    std::string cookie;  // "name=value"
    bool secure = false;
    std::string client = "192.0.2.7";
};

class WebAppTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::fresh_dir("pb-web");
        auto s = storage::open_store(dir_, rng_, clock_);
        ASSERT_TRUE(s) << s.error().detail;
        store_ = std::move(*s);
        // Few rounds: the hash format carries its count, and speed is not
        // what these tests are about.
        ASSERT_TRUE(store_->put_credential(
            "admin", "admin", hash_password(Secret(std::string(kPassword)), rng_, 1000)));
        app_ = std::make_unique<App>(*store_, signin_, clock_, rng_);
    }
    void TearDown() override {
        app_.reset();
        store_.reset();
        fs::remove_all(dir_);
    }

    Response send(Browser& b, std::string method, std::string target, std::string body = {}) {
        Request r;
        r.method = std::move(method);
        const auto q = target.find('?');
        r.path = target.substr(0, q);
        if (q != std::string::npos) r.query = target.substr(q + 1);
        r.body = std::move(body);
        if (r.method == "POST") r.content_type = "application/x-www-form-urlencoded";
        r.cookie = b.cookie;
        r.client = b.client;
        r.secure = b.secure;
        Response res = app_->handle(r);
        for (const auto& [k, v] : res.headers) {
            if (k != "Set-Cookie") continue;
            const std::string pair = v.substr(0, v.find(';'));
            b.cookie = v.find("Max-Age=0") != std::string::npos ? std::string() : pair;
        }
        return res;
    }
    Response get(Browser& b, std::string target) { return send(b, "GET", std::move(target)); }
    Response post(Browser& b, std::string target, std::string body) {
        return send(b, "POST", std::move(target), std::move(body));
    }

    static std::string csrf_of(const Response& r) {
        std::smatch m;
        static const std::regex re(R"re(name="csrf" value="([^"]+)")re");
        return std::regex_search(r.body, m, re) ? m[1].str() : std::string();
    }

    // Logs in; returns the CSRF token of the logged-in session.
    std::string login(Browser& b) {
        const auto page = get(b, "/login");
        const auto res =
            post(b, "/login", "csrf=" + csrf_of(page) + "&password=" + url_encode(kPassword));
        EXPECT_EQ(res.status, 303);
        return csrf_of(get(b, "/network/email/basic"));
    }

    settings::Settings settings() { return *store_->load_settings(); }

    fs::path dir_;
    test::ManualClock clock_;
    test::CountingRandom rng_;
    std::unique_ptr<store::Store> store_;
    ScriptedSignIn signin_;
    std::unique_ptr<App> app_;
};

TEST_F(WebAppTest, EveryAnswerCarriesTheSecurityHeaders) {
    Browser b;
    for (const auto* path : {"/login", "/network/email/basic", "/nope", "/assets/app.js"}) {
        const auto r = get(b, path);
        ASSERT_NE(r.header("Content-Security-Policy"), nullptr) << path;
        EXPECT_NE(r.header("Content-Security-Policy")->find("frame-ancestors 'none'"),
                  std::string::npos);
        EXPECT_NE(r.header("Content-Security-Policy")->find("script-src 'self'"),
                  std::string::npos);
        EXPECT_EQ(r.header("Content-Security-Policy")->find("unsafe-inline"), std::string::npos);
        EXPECT_EQ(*r.header("X-Frame-Options"), "DENY");
        EXPECT_EQ(*r.header("X-Content-Type-Options"), "nosniff");
    }
    EXPECT_EQ(*get(b, "/login").header("Cache-Control"), "no-store");
}

TEST_F(WebAppTest, PagesHaveNoInlineScriptOrStyle) {
    Browser b;
    login(b);
    const auto page = get(b, "/network/email/basic").body;
    EXPECT_EQ(page.find("<script>"), std::string::npos);
    EXPECT_EQ(page.find("style="), std::string::npos);
    EXPECT_EQ(page.find("onclick"), std::string::npos);
    EXPECT_NE(page.find(R"(<script src="/assets/app.js" defer></script>)"), std::string::npos);
}

TEST_F(WebAppTest, PagesNeedALogin) {
    Browser b;
    auto r = get(b, "/network/email/basic");
    EXPECT_EQ(r.status, 303);
    EXPECT_EQ(*r.header("Location"), "/login");
    EXPECT_EQ(get(b, "/api/signin-status?profile=email").status, 403);
    EXPECT_EQ(post(b, "/network/email/basic", "smtp.port=25").status, 403);
}

TEST_F(WebAppTest, SessionCookieFlagsOverHttp) {
    Browser b;
    const auto r = get(b, "/login");
    const auto* c = r.header("Set-Cookie");
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->starts_with("pb_session="));
    EXPECT_NE(c->find("; HttpOnly"), std::string::npos);
    EXPECT_NE(c->find("; SameSite=Strict"), std::string::npos);
    EXPECT_NE(c->find("; Path=/"), std::string::npos);
    EXPECT_EQ(c->find("Secure"), std::string::npos);
}

TEST_F(WebAppTest, SessionCookieFlagsOverHttps) {
    Browser b;
    b.secure = true;
    const auto r = get(b, "/login");
    const auto* c = r.header("Set-Cookie");
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->starts_with("__Host-pb_session="));
    EXPECT_NE(c->find("; Secure"), std::string::npos);
    EXPECT_NE(c->find("; HttpOnly"), std::string::npos);
    EXPECT_NE(c->find("; SameSite=Strict"), std::string::npos);
}

TEST_F(WebAppTest, LoginWithTheRightPasswordGivesANewSessionId) {
    Browser b;
    const auto page = get(b, "/login");
    EXPECT_NE(page.body.find("Log in"), std::string::npos);
    EXPECT_NE(page.body.find(">OK<"), std::string::npos);
    const std::string before = b.cookie;
    const auto r =
        post(b, "/login", "csrf=" + csrf_of(page) + "&password=" + url_encode(kPassword));
    EXPECT_EQ(r.status, 303);
    EXPECT_EQ(*r.header("Location"), "/network/email/basic");
    EXPECT_NE(b.cookie, before);  // the visitor's id is worth nothing now
    Browser fixated{before};
    EXPECT_EQ(get(fixated, "/network/email/basic").status, 303);
    EXPECT_EQ(get(b, "/network/email/basic").status, 200);
}

TEST_F(WebAppTest, WrongPasswordIsRefused) {
    Browser b;
    const auto page = get(b, "/login");
    const auto r = post(b, "/login", "csrf=" + csrf_of(page) + "&password=guess");
    EXPECT_EQ(r.status, 403);
    EXPECT_NE(r.body.find("The password is incorrect."), std::string::npos);
    EXPECT_EQ(get(b, "/network/email/basic").status, 303);
}

TEST_F(WebAppTest, LoginWithoutCsrfIsRefused) {
    Browser b;
    get(b, "/login");
    EXPECT_EQ(post(b, "/login", "password=" + url_encode(kPassword)).status, 403);
    EXPECT_EQ(post(b, "/login", "csrf=forged&password=" + url_encode(kPassword)).status, 403);
}

TEST_F(WebAppTest, RepeatedWrongPasswordsAreThrottledPerClient) {
    Browser b;
    const std::string csrf = csrf_of(get(b, "/login"));
    for (int i = 0; i < LoginThrottle::free_attempts; ++i)
        EXPECT_EQ(post(b, "/login", "csrf=" + csrf + "&password=wrong").status, 403);
    // Now even the right password waits: the throttle answers before checking.
    auto r = post(b, "/login", "csrf=" + csrf + "&password=" + url_encode(kPassword));
    EXPECT_EQ(r.status, 429);
    ASSERT_NE(r.header("Retry-After"), nullptr);
    EXPECT_NE(r.body.find("Too many wrong passwords"), std::string::npos);

    Browser other;
    other.client = "192.0.2.99";
    const std::string csrf2 = csrf_of(get(other, "/login"));
    EXPECT_EQ(post(other, "/login", "csrf=" + csrf2 + "&password=" + url_encode(kPassword)).status,
              303);

    clock_.advance(LoginThrottle::first_delay + 1s);
    EXPECT_EQ(post(b, "/login", "csrf=" + csrf + "&password=" + url_encode(kPassword)).status, 303);
}

TEST_F(WebAppTest, ThrottleDelayGrowsAndIsCapped) {
    LoginThrottle t(clock_);
    for (int i = 0; i < LoginThrottle::free_attempts - 1; ++i) t.failed("c");
    EXPECT_FALSE(t.wait("c"));
    t.failed("c");
    EXPECT_EQ(*t.wait("c"), LoginThrottle::first_delay);
    t.failed("c");
    EXPECT_EQ(*t.wait("c"), 2 * LoginThrottle::first_delay);
    for (int i = 0; i < 30; ++i) t.failed("c");
    EXPECT_EQ(*t.wait("c"), LoginThrottle::max_delay);
    t.succeeded("c");
    EXPECT_FALSE(t.wait("c"));
}

TEST_F(WebAppTest, IdleSessionExpires) {
    Browser b;
    login(b);
    clock_.advance(14min);
    EXPECT_EQ(get(b, "/network/email/basic").status, 200);  // activity restarts the idle clock
    clock_.advance(16min);
    EXPECT_EQ(get(b, "/network/email/basic").status, 303);
}

// Row "300 anonymous GET /login while the administrator is logged in": a
// visitor's login page makes no session, so none can push the
// administrator's out of the table.
TEST_F(WebAppTest, AnonymousLoginPagesNeverLogTheAdministratorOut) {
    Browser admin;
    login(admin);
    for (std::size_t i = 0; i < Sessions::max_sessions + 44; ++i) {
        Browser visitor;
        EXPECT_EQ(get(visitor, "/login").status, 200);
        clock_.advance(1ms);  // each visitor seen after the administrator
    }
    EXPECT_EQ(get(admin, "/network/email/basic").status, 200);
}

// The login form's token is good only with the cookie it was given with,
// and only for a while.
TEST_F(WebAppTest, LoginFormTokenIsBoundToItsCookieAndExpires) {
    Browser b;
    const std::string csrf = csrf_of(get(b, "/login"));
    Browser other;
    get(other, "/login");
    EXPECT_EQ(post(other, "/login", "csrf=" + csrf + "&password=" + url_encode(kPassword)).status,
              403);
    Browser no_cookie;
    EXPECT_EQ(
        post(no_cookie, "/login", "csrf=" + csrf + "&password=" + url_encode(kPassword)).status,
        403);
    clock_.advance(LoginForms::lifetime + 1s);
    EXPECT_EQ(post(b, "/login", "csrf=" + csrf + "&password=" + url_encode(kPassword)).status, 403);
    EXPECT_EQ(post(b, "/login",
                   "csrf=" + csrf_of(get(b, "/login")) + "&password=" + url_encode(kPassword))
                  .status,
              303);
}

// Row "no absolute session lifetime": activity keeps a session only so long.
TEST_F(WebAppTest, SessionEndsAfterItsLifetimeHoweverActive) {
    Browser b;
    login(b);
    for (auto t = 10min; t < Sessions::max_lifetime; t += 10min) {
        clock_.advance(10min);
        ASSERT_EQ(get(b, "/network/email/basic").status, 200);
    }
    clock_.advance(11min);
    EXPECT_EQ(get(b, "/network/email/basic").status, 303);
}

Response get_from(App& app, std::string host) {
    Request r;
    r.method = "GET";
    r.path = "/login";
    r.host = std::move(host);
    r.client = "192.0.2.7";
    return app.handle(r);
}

// Row "Host: evil.example": a name the page is not known by gets a 421 that
// says what to set, not the login form.
TEST_F(WebAppTest, HostWithAnUnknownNameIsRefusedSayingWhatToSet) {
    const auto r = get_from(*app_, "evil.example");
    EXPECT_EQ(r.status, 421);
    EXPECT_NE(r.body.find("web.hostnames"), std::string::npos);
    EXPECT_EQ(r.body.find("csrf"), std::string::npos);
    EXPECT_EQ(get_from(*app_, "evil.example:8443").status, 421);
    EXPECT_EQ(get_from(*app_, "evil.example:x").status, 400);
    EXPECT_EQ(get_from(*app_, "[not-an-address]").status, 400);
    EXPECT_EQ(get_from(*app_, "evil\nexample").status, 400);
}

TEST_F(WebAppTest, HostAsAnAddressOrLocalhostIsAlwaysAccepted) {
    for (const auto* host : {"", "127.0.0.1", "192.168.1.20:8443", "[::1]", "[fe80::1]:8443",
                             "localhost", "LOCALHOST:8443"})
        EXPECT_EQ(get_from(*app_, host).status, 200) << host;
}

TEST_F(WebAppTest, HostListedInWebHostnamesOrTheCertificateIsAccepted) {
    ASSERT_TRUE(store_->set_values({{"web.hostnames", "printer.example.com, scan.example.com"}}));
    EXPECT_EQ(get_from(*app_, "Scan.Example.com:8443").status, 200);
    EXPECT_EQ(get_from(*app_, "printer.example.com.").status, 200);
    EXPECT_EQ(get_from(*app_, "other.example.com").status, 421);

    const auto cert = ensure_self_signed(dir_, {"device.lan"});
    ASSERT_TRUE(cert) << cert.error().detail;
    ASSERT_TRUE(
        store_->set_values({{"web.cert", cert->cert.string()}, {"web.key", cert->key.string()}}));
    App with_cert(*store_, signin_, clock_, rng_);
    EXPECT_EQ(get_from(with_cert, "device.lan").status, 200);
    EXPECT_EQ(get_from(with_cert, "evil.example").status, 421);
}

// Logs: a line that quotes a request's bytes stays one line, whatever the
// page that wrote it.
TEST_F(WebAppTest, LogLinesEscapeWhatTheyQuote) {
    std::vector<std::string> lines;
    AppOptions o;
    o.log = [&](std::string_view l) { lines.emplace_back(l); };
    App app(*store_, signin_, clock_, rng_, o);
    Request r;
    r.method = "POST";
    r.path = "/login";
    r.client = "10.9.9.9\nweb: administrator logged in from 10.9.9.9";
    r.cookie = "pb_session=c";
    r.content_type = "application/x-www-form-urlencoded";
    r.body = "password=wrong&csrf=";
    Request page = r;
    page.method = "GET";
    page.body.clear();
    r.body += url_encode(csrf_of(app.handle(page)));
    EXPECT_EQ(app.handle(r).status, 403);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].find('\n'), std::string::npos) << lines[0];
}

TEST_F(WebAppTest, LogoutEndsTheSession) {
    Browser b;
    const std::string csrf = login(b);
    const std::string cookie = b.cookie;
    EXPECT_EQ(post(b, "/logout", "csrf=" + csrf).status, 303);
    Browser replay{cookie};
    EXPECT_EQ(get(replay, "/network/email/basic").status, 303);
}

TEST_F(WebAppTest, BasicPageShowsTheManualsLabelsAndNotes) {
    Browser b;
    login(b);
    ASSERT_TRUE(store_->set_values({{"email.auth_method", "oauth2"}}));
    const auto page = get(b, "/network/email/basic").body;
    for (const auto* text :
         {"Network &gt; Email Server &gt; Basic",
          "Authentication Method",
          "Email service",
          "Current Status",
          "Authenticated Account",
          "Authenticated Password",
          "Sender&#39;s Email Address",
          "SMTP Server Address",
          "SMTP Server Port Number",
          "Secure Connection",
          "Certificate Validation",
          "POP3 Server Address",
          "POP3 Server Port Number",
          "Signed out",
          "Sign In",
          ">OK<",
          ">Network<",
          ">Network Security<",
          ">Product Security<",
          ">Device Management<",
          "The certificate is required to use a secure function of the email server",
          ">CA Certificate</a>",
          ">Root Certificate Update</a>",
          "It is recommended to enable the Certificate Validation. It will be connected without "
          "confirming the "
          "safety of the email server when the Certificate Validation is disabled."})
        EXPECT_NE(page.find(text), std::string::npos) << text;
    // The Fax tab is there before any fax setting: its page is where they are made.
    EXPECT_NE(page.find(R"(<a href="/fax/email-server">Fax</a>)"), std::string::npos);
}

TEST_F(WebAppTest, FieldsOfOtherMethodsAreHiddenWithoutScript) {
    Browser b;
    login(b);
    ASSERT_TRUE(store_->set_values({{"email.auth_method", "smtp-auth"}}));
    auto page = get(b, "/network/email/basic").body;
    EXPECT_NE(page.find(R"(data-show="pop-before-smtp" hidden><label for="f-pop3_host")"),
              std::string::npos);
    EXPECT_NE(page.find(R"(data-show="smtp-auth pop-before-smtp"><label for="f-password")"),
              std::string::npos);
    ASSERT_TRUE(store_->set_values({{"email.auth_method", "pop-before-smtp"}}));
    page = get(b, "/network/email/basic").body;
    EXPECT_NE(page.find(R"(data-show="pop-before-smtp"><label for="f-pop3_host")"),
              std::string::npos);
}

TEST_F(WebAppTest, OkAppliesTheSettings) {
    Browser b;
    const std::string csrf = login(b);
    const auto r =
        post(b, "/network/email/basic",
             "csrf=" + csrf +
                 "&auth_method=smtp-auth&sender=scanner%40example.test&smtp.host=mail.example.test"
                 "&smtp.port=465&smtp.security=ssl-tls&smtp.verify_cert=true&password=hunter22");
    ASSERT_EQ(r.status, 303);
    const auto s = settings();
    EXPECT_EQ(s.get("email", "auth_method"), "smtp-auth");
    EXPECT_EQ(s.get("email", "smtp.host"), "mail.example.test");
    EXPECT_EQ(s.get("email", "smtp.port"), "465");
    EXPECT_FALSE(s.is_set("email.smtp.verify_cert"));  // unchanged defaults stay defaults
    EXPECT_TRUE(store_->has_secret("email.password"));
    const auto page = get(b, "/network/email/basic?saved=1").body;
    EXPECT_NE(page.find("The settings were applied."), std::string::npos);
    EXPECT_EQ(page.find("hunter22"), std::string::npos);  // a password never comes back
    EXPECT_NE(page.find("(unchanged)"), std::string::npos);
}

TEST_F(WebAppTest, PostWithoutCsrfChangesNothing) {
    Browser b;
    login(b);
    const auto r = post(b, "/network/email/basic", "smtp.host=evil.example.test");
    EXPECT_EQ(r.status, 403);
    EXPECT_FALSE(settings().is_set("email.smtp.host"));
    EXPECT_EQ(post(b, "/network/email/basic", "csrf=wrong&smtp.host=evil.example.test").status,
              403);
    EXPECT_FALSE(settings().is_set("email.smtp.host"));
}

TEST_F(WebAppTest, InvalidValueShowsItsMessageBesideTheFieldAndChangesNothing) {
    Browser b;
    const std::string csrf = login(b);
    const auto r = post(b, "/network/email/basic",
                        "csrf=" + csrf + "&smtp.host=ok.example.test&smtp.port=70000");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find(R"(<p class="error" id="e-f-smtp_port">)"), std::string::npos);
    EXPECT_NE(r.body.find("email.smtp.port"), std::string::npos);
    EXPECT_NE(r.body.find(R"(value="70000")"), std::string::npos);  // what was typed stays
    EXPECT_FALSE(settings().is_set("email.smtp.host"));             // all or nothing
}

TEST_F(WebAppTest, ScriptPayloadComesBackEscaped) {
    Browser b;
    const std::string csrf = login(b);
    const std::string payload = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>";
    // Refused (not an address): redisplayed in the field.
    auto r = post(b, "/network/email/basic", "csrf=" + csrf + "&sender=" + url_encode(payload));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body.find("<script>alert"), std::string::npos);
    EXPECT_EQ(r.body.find("<img src=x"), std::string::npos);
    EXPECT_NE(r.body.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&gt;&lt;img"),
              std::string::npos);
    // Accepted (a free-text account name): stored, and escaped on every view.
    r = post(b, "/network/email/basic", "csrf=" + csrf + "&account=" + url_encode(payload));
    ASSERT_EQ(r.status, 303);
    const auto page = get(b, "/network/email/basic").body;
    EXPECT_EQ(page.find("<script>alert"), std::string::npos);
    EXPECT_EQ(page.find("<img src=x"), std::string::npos);
}

TEST_F(WebAppTest, ChoosingAServiceFillsItsPreset) {
    Browser b;
    const std::string csrf = login(b);
    // The form still shows the old server fields (no script ran): the
    // preset wins over values the administrator did not touch.
    const auto s = settings();
    auto r =
        post(b, "/network/email/basic",
             "csrf=" + csrf + "&auth_method=oauth2&service=outlook-com&smtp.host=" +
                 url_encode(s.get("email", "smtp.host")) + "&smtp.port=587&smtp.security=starttls");
    ASSERT_EQ(r.status, 303);
    EXPECT_EQ(settings().get("email", "smtp.host"), "smtp-mail.outlook.com");
    EXPECT_EQ(settings().get("email", "oauth.tenant"), "consumers");
    // An edited field wins over the preset.
    r = post(b, "/network/email/basic",
             "csrf=" + csrf + "&service=gmail&smtp.host=relay.example.test&smtp.port=587");
    ASSERT_EQ(r.status, 303);
    EXPECT_EQ(settings().get("email", "smtp.host"), "relay.example.test");
    EXPECT_EQ(settings().get("email", "oauth.grant"), "authorization-code");
}

TEST_F(WebAppTest, SignInShowsTheCodeTheQrAndTheManualsSentence) {
    Browser b;
    const std::string csrf = login(b);
    ASSERT_TRUE(store_->set_values({{"email.auth_method", "oauth2"}}));
    // "Sign In" is part of the settings form: it applies them, then opens the panel.
    auto r = post(b, "/network/email/basic", "csrf=" + csrf + "&auth_method=oauth2&signin=1");
    ASSERT_EQ(r.status, 303);
    EXPECT_EQ(*r.header("Location"), "/network/email/basic?signin=1");
    auto page = get(b, "/network/email/basic?signin=1").body;
    EXPECT_NE(page.find("Any other email services signed in will be signed out automatically"),
              std::string::npos);
    EXPECT_NE(page.find("Email service: Microsoft Exchange Online"), std::string::npos);
    EXPECT_NE(page.find("Sign in with Microsoft"), std::string::npos);

    r = post(b, "/network/email/basic/signin", "csrf=" + csrf + "&action=start");
    EXPECT_EQ(r.status, 303);
    EXPECT_EQ(signin_.starts, 1);
    page = get(b, "/network/email/basic?signin=1").body;
    EXPECT_NE(page.find("To sign in, use a web browser to open the page <a "
                        "href=\"https://example.test/device\" "
                        "target=\"_blank\" rel=\"noopener "
                        "noreferrer\">https://example.test/device</a> and enter the "
                        "code <strong id=\"user-code\">WDJB-MJHT</strong> to authenticate."),
              std::string::npos);
    EXPECT_NE(page.find("<svg"), std::string::npos);
    EXPECT_NE(
        page.find("Time left: <span id=\"time-left\" data-expires-in=\"600\">10 min 00 s</span>"),
        std::string::npos);
    EXPECT_NE(page.find(R"(data-poll="1")"), std::string::npos);

    auto json = get(b, "/api/signin-status?profile=email");
    EXPECT_EQ(*json.header("Content-Type"), "application/json");
    EXPECT_NE(json.body.find(R"("state":"pending")"), std::string::npos);
    EXPECT_NE(json.body.find(R"("user_code":"WDJB-MJHT")"), std::string::npos);

    signin_.next = {};
    signin_.next.state = SignInStatus::State::signed_in;
    signin_.next.account = "alice@example.test";
    json = get(b, "/api/signin-status?profile=email");
    EXPECT_NE(json.body.find(R"("status":"Signed in")"), std::string::npos);
    EXPECT_NE(json.body.find(R"("account":"alice@example.test")"), std::string::npos);
    page = get(b, "/network/email/basic").body;
    EXPECT_NE(page.find(R"(<output id="current-status" class="js-status">Signed in</output>)"),
              std::string::npos);
    EXPECT_NE(page.find("alice@example.test"), std::string::npos);

    EXPECT_EQ(post(b, "/network/email/basic/signin", "action=signout").status, 403);
    EXPECT_EQ(signin_.sign_outs, 0);
    EXPECT_EQ(post(b, "/network/email/basic/signin", "csrf=" + csrf + "&action=signout").status,
              303);
    EXPECT_EQ(signin_.sign_outs, 1);
}

TEST_F(WebAppTest, GmailSignInButtonSaysGoogle) {
    Browser b;
    login(b);
    ASSERT_TRUE(store_->set_values({{"email.auth_method", "oauth2"}, {"email.service", "gmail"}}));
    EXPECT_NE(get(b, "/network/email/basic?signin=1").body.find("Sign in with Google"),
              std::string::npos);
}

TEST_F(WebAppTest, FailedSignInShowsItsReasonOnce) {
    struct Failing final : SignInService {
        Result<SignInStatus> start(std::string_view) override {
            return fail(Errc::sign_in_again,
                        "Blocked by a Conditional Access policy <of the tenant>");
        }
        SignInStatus status(std::string_view) override { return {}; }
        Result<SignInStatus> finish(std::string_view, std::string_view) override {
            return SignInStatus{};
        }
        Result<void> sign_out(std::string_view) override { return {}; }
        std::vector<std::string> end_replaced(const settings::Settings&) override { return {}; }
        Result<SignInStatus> decoy(std::string_view) override { return SignInStatus{}; }
    } failing;
    app_ = std::make_unique<App>(*store_, failing, clock_, rng_);
    Browser b;
    const std::string csrf = login(b);
    ASSERT_TRUE(store_->set_values({{"email.auth_method", "oauth2"}}));
    EXPECT_EQ(post(b, "/network/email/basic/signin", "csrf=" + csrf + "&action=start").status, 303);
    auto page = get(b, "/network/email/basic?signin=1").body;
    EXPECT_NE(page.find("Blocked by a Conditional Access policy &lt;of the tenant&gt;"),
              std::string::npos);
    page = get(b, "/network/email/basic?signin=1").body;
    EXPECT_EQ(page.find("Conditional Access"), std::string::npos);
    app_.reset();  // before `failing` goes
}

TEST_F(WebAppTest, TheFaxServerPageIsThereBeforeAnyFaxSetting) {
    Browser b;
    login(b);
    const auto page = get(b, "/fax/email-server").body;
    EXPECT_NE(page.find(R"(<a href="/fax/email-server" aria-current="page">Fax</a>)"),
              std::string::npos);
    EXPECT_NE(page.find("Fax &gt; Fax Server &gt; Email Server Settings"), std::string::npos);
}

// Every profile setting a user of a service needs, on the page: tenant and
// cloud for Microsoft, grant, client secret, scopes, redirect URI, proxy,
// POP3 security; each applied by OK, the secret never shown again.
TEST_F(WebAppTest, EveryOAuthSettingIsOnThePageAndApplied) {
    Browser b;
    const std::string csrf = login(b);
    ASSERT_TRUE(store_->set_values(
        {{"email.auth_method", "oauth2"}, {"email.service", "exchange-online"}}));
    auto page = get(b, "/network/email/basic").body;
    for (const char* field :
         {"f-oauth_grant", "f-oauth_client_secret", "f-oauth_tenant", "f-oauth_authority",
          "f-oauth_scopes", "f-oauth_redirect_uri", "f-proxy_url", "f-pop3_security"})
        EXPECT_NE(page.find(fmt::format(R"(id="{}")", field)), std::string::npos) << field;
    // Shown for the services they belong to: the tenant for Microsoft's.
    EXPECT_NE(
        page.find(R"(data-services="exchange-online outlook-com"><label for="f-oauth_tenant")"),
        std::string::npos);
    EXPECT_NE(page.find(R"(href="/guide/exchange-online")"), std::string::npos);

    const auto r =
        post(b, "/network/email/basic",
             "csrf=" + csrf +
                 "&auth_method=oauth2&service=exchange-online&oauth.grant=client-credentials"
                 "&oauth.client_id=c1&oauth.client_secret=s3cr3t-value&oauth.tenant=contoso."
                 "onmicrosoft.com"
                 "&oauth.authority=https%3A%2F%2Flogin.microsoftonline.us"
                 "&oauth.scopes=https%3A%2F%2Foutlook.office365.com%2F.default"
                 "&proxy.url=http%3A%2F%2Fproxy.example.test%3A3128&pop3.security=ssl-tls");
    ASSERT_EQ(r.status, 303);
    const auto s = settings();
    EXPECT_EQ(s.get("email", "oauth.grant"), "client-credentials");
    EXPECT_EQ(s.get("email", "oauth.tenant"), "contoso.onmicrosoft.com");
    EXPECT_EQ(s.get("email", "oauth.authority"), "https://login.microsoftonline.us");
    EXPECT_EQ(s.get("email", "oauth.scopes"), "https://outlook.office365.com/.default");
    EXPECT_EQ(s.get("email", "proxy.url"), "http://proxy.example.test:3128");
    EXPECT_EQ(s.get("email", "pop3.security"), "ssl-tls");
    EXPECT_TRUE(store_->has_secret("email.oauth.client_secret"));
    // The app signs in as soon as its settings are applied.
    EXPECT_EQ(signin_.starts, 1);
    page = get(b, "/network/email/basic").body;
    EXPECT_EQ(page.find("s3cr3t-value"), std::string::npos);
    EXPECT_NE(
        page.find(
            R"x(name="oauth.client_secret" value="" autocomplete="new-password" placeholder="(unchanged)")x"),
        std::string::npos);
}

TEST_F(WebAppTest, ChangingTheServiceEndsTheOldSignInAndSaysSoBeforeOk) {
    Browser b;
    const std::string csrf = login(b);
    ASSERT_TRUE(store_->set_values(
        {{"email.auth_method", "oauth2"}, {"email.service", "exchange-online"}}));
    signin_.next.state = SignInStatus::State::signed_in;
    signin_.next.account = "scanner@contoso.example";
    auto page = get(b, "/network/email/basic").body;
    EXPECT_NE(
        page.find(
            R"(id="switch-warning" hidden>Any other email services signed in will be signed out automatically. Pressing OK signs scanner@contoso.example out)"),
        std::string::npos);
    ASSERT_EQ(
        post(b, "/network/email/basic", "csrf=" + csrf + "&auth_method=oauth2&service=outlook-com")
            .status,
        303);
    ASSERT_EQ(signin_.replaced_from.size(), 1u);
    EXPECT_EQ(signin_.replaced_from[0], "exchange-online");  // given the settings before
    // Nothing changed: nothing to end.
    ASSERT_EQ(
        post(b, "/network/email/basic", "csrf=" + csrf + "&auth_method=oauth2&service=outlook-com")
            .status,
        303);
    EXPECT_EQ(signin_.replaced_from.size(), 1u);
}

TEST_F(WebAppTest, TheSetupGuidesAreServedAsPages) {
    Browser b;
    login(b);
    const auto r = get(b, "/guide/exchange-online");
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("<h2>Why postbridge ships no client id</h2>"), std::string::npos);
    EXPECT_NE(r.body.find("Set-CASMailbox"), std::string::npos);
    for (const char* g : {"/guide/outlook-com", "/guide/gmail", "/guide/relay"})
        EXPECT_EQ(get(b, g).status, 200) << g;
    EXPECT_EQ(get(b, "/guide/../etc/passwd").status, 404);
    EXPECT_EQ(get(b, "/guide/nothing").status, 404);
}

// Scan to My Email for the users themselves: no administrator login, the
// same answer for any address, a pending code shown again rather than
// replaced, and a limit per client.
class MyEmailTest : public WebAppTest {
  protected:
    void SetUp() override {
        WebAppTest::SetUp();
        ASSERT_TRUE(store_->set_values(
            {{"email.auth_method", "oauth2"}, {"email.service", "exchange-online"}}));
        ASSERT_TRUE(store_->add_user("bob", "Bob@Example.test"));
    }
    Response ask(Browser& b, std::string_view address) {
        const std::string csrf = csrf_of(get(b, "/my-email"));
        return post(b, "/my-email", "csrf=" + csrf + "&address=" + url_encode(address));
    }
    // The answer with what differs between two codes taken out.
    static std::string shape(std::string body) {
        for (const char* code : {"WDJB-MJHT", "QXPL-TRMZ"})
            for (auto at = body.find(code); at != std::string::npos; at = body.find(code))
                body.replace(at, 9, "CODE");
        body = std::regex_replace(body, std::regex(R"(<svg.*?</svg>)"), "QR");
        body = std::regex_replace(body, std::regex(R"(t=[A-Za-z0-9_-]+)"), "t=TICKET");
        body = std::regex_replace(body, std::regex(R"((bob|eve)@example\.test)"), "ADDRESS");
        return body;
    }
};

TEST_F(MyEmailTest, ARegisteredUserGetsACodeForTheirOwnProfileWithNoLogin) {
    Browser user;
    const auto page = get(user, "/my-email");
    ASSERT_EQ(page.status, 200);
    EXPECT_NE(page.body.find(R"(id="my-address")"), std::string::npos);
    const auto r = ask(user, "  bob@example.TEST ");  // case and spaces do not matter
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("and enter the code <strong id=\"user-code\">WDJB-MJHT</strong>"),
              std::string::npos);
    EXPECT_EQ(signin_.starts, 1);
    EXPECT_EQ(signin_.decoys, 0);
}

TEST_F(MyEmailTest, AnUnknownAddressGetsTheSameAnswer) {
    Browser a, b;
    const auto known = ask(a, "bob@example.test");
    const auto unknown = ask(b, "eve@example.test");
    ASSERT_EQ(unknown.status, known.status);
    EXPECT_EQ(signin_.decoys, 1);
    EXPECT_EQ(signin_.starts, 1);  // nothing started for eve
    EXPECT_EQ(shape(known.body), shape(unknown.body));
}

TEST_F(MyEmailTest, APendingSignInIsShownAgainNotReplaced) {
    Browser a, b;
    (void)ask(a, "bob@example.test");
    ASSERT_EQ(signin_.starts, 1);
    const auto again = ask(b, "bob@example.test");
    EXPECT_EQ(signin_.starts, 1) << "a second request must not cancel the first one's code";
    EXPECT_NE(again.body.find("WDJB-MJHT"), std::string::npos);
}

TEST_F(MyEmailTest, TheStatusLinkSaysWhenTheSignInIsDoneOrWhyNot) {
    Browser user;
    const auto r = ask(user, "bob@example.test");
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(r.body, m, std::regex(R"re(href="(/my-email/status\?t=[^"]+)")re")));
    const std::string link = m[1].str();
    EXPECT_NE(get(user, link).body.find("Waiting for you to sign in"), std::string::npos);
    signin_.next = {};
    signin_.next.reason =
        "You signed in as eve@example.test, but this sign-in is for Bob@Example.test.";
    EXPECT_NE(get(user, link).body.find("You signed in as eve@example.test"), std::string::npos);
    signin_.next = {};
    signin_.next.state = SignInStatus::State::signed_in;
    signin_.next.account = "bob@example.test";
    EXPECT_NE(
        get(user, link)
            .body.find(
                "Authentication was successful. Try the operation again from the Home Screen."),
        std::string::npos);
    EXPECT_NE(get(user, "/my-email/status?t=forged").body.find("expired or is unknown"),
              std::string::npos);
}

TEST_F(MyEmailTest, EachClientMayAskFiveTimesInTenMinutes) {
    Browser user;
    for (int i = 0; i < 5; ++i) EXPECT_EQ(ask(user, "eve@example.test").status, 200) << i;
    const auto refused = ask(user, "eve@example.test");
    EXPECT_EQ(refused.status, 429);
    EXPECT_NE(refused.body.find("Too many sign-in requests"), std::string::npos);
    EXPECT_EQ(signin_.decoys, 5);
    Browser other;
    other.client = "192.0.2.99";
    EXPECT_EQ(ask(other, "eve@example.test").status, 200);
    clock_.advance(std::chrono::minutes{10});
    EXPECT_EQ(ask(user, "eve@example.test").status, 200);
}

// Gmail's authorization code grant has no code to show here: every address
// gets the same words, and nothing is started.
TEST_F(MyEmailTest, WithoutDeviceCodesEveryAddressIsSentToTheAdministrator) {
    ASSERT_TRUE(store_->set_values({{"email.oauth.grant", "authorization-code"}}));
    Browser a, b;
    const auto known = ask(a, "bob@example.test");
    const auto unknown = ask(b, "eve@example.test");
    EXPECT_EQ(known.status, 400);
    EXPECT_EQ(unknown.status, 400);
    EXPECT_NE(known.body.find("signed in by the administrator"), std::string::npos);
    EXPECT_EQ(signin_.starts, 0);
    EXPECT_EQ(signin_.decoys, 0);
}

TEST_F(MyEmailTest, TheFormNeedsItsToken) {
    Browser user;
    (void)get(user, "/my-email");
    EXPECT_EQ(post(user, "/my-email", "csrf=forged&address=bob%40example.test").status, 403);
    EXPECT_EQ(signin_.starts, 0);
}

TEST(Guides, MarkdownBecomesEscapedHtml) {
    const auto html = render_guide(
        "# T\n\nSome **bold** and `a<b>` with https://example.test/x.\n"
        "continued.\n\n1. one\n   more\n2. two\n\n- a\n- b\n\n"
        "| k | v |\n|---|---|\n| `x` | <y> |\n\n```\n<code>\n```\n");
    EXPECT_EQ(
        html,
        "<h2>T</h2>\n"
        "<p>Some <strong>bold</strong> and <code>a&lt;b&gt;</code> with <a "
        "href=\"https://example.test/x\" rel=\"noopener noreferrer\">https://example.test/x</a>. "
        "continued.</p>\n"
        "<ol>\n<li>one more</li>\n<li>two</li>\n</ol>\n"
        "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"
        "<table>\n<tr><th>k</th><th>v</th></tr>\n<tr><td><code>x</code></td><td>&lt;y&gt;</td></"
        "tr>\n</table>\n"
        "<pre><code>&lt;code&gt;\n</code></pre>\n");
}

TEST(Html, EscapesEveryMetacharacter) {
    EXPECT_EQ(escape(R"(<a href="x" title='y'>&</a>)"),
              "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
}

TEST(Html, QrCodeIsAnSvg) {
    const auto svg = qr_svg("https://example.test/device?user_code=WDJB-MJHT");
    EXPECT_TRUE(svg.starts_with("<svg"));
    EXPECT_NE(svg.find("<path d=\"M"), std::string::npos);
}

TEST(Http, FormParsingRejectsBrokenEscapes) {
    EXPECT_FALSE(parse_form("a=%2"));
    EXPECT_FALSE(parse_form("a=%zz"));
    const auto p = parse_form("a=1+2&b=%3Cx%3E&a=3");
    ASSERT_TRUE(p);
    EXPECT_EQ((*p)[0].second, "1 2");
    EXPECT_EQ((*p)[1].second, "<x>");
}

}  // namespace
}  // namespace pb::web
